/**
 * The depot's upload dialog: drop a file or pick one, watch it go up (XMLHttpRequest's upload progress), cancel it,
 * and see the artifact it became with what was read from it. The file goes to the console's own origin
 * (/depot/upload, streamed through to the API), never straight to the API.
 */
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { formatBytes } from '~/lib/format';
import { shortSha, type DepotArtifact } from '~/lib/software';
import { ArtifactMetadata } from './software';
import { Alert, Button, cx } from './ui';

type Upload =
  | { state: 'idle' }
  | { state: 'uploading'; fileName: string; loaded: number; total: number }
  | { state: 'done'; artifact: DepotArtifact; existed: boolean }
  | { state: 'failed'; fileName: string; message: string }
  | { state: 'cancelled'; fileName: string };

/** Sends `file` to /depot/upload; resolves with the artifact, rejects with a readable message. */
function send(file: File, onProgress: (loaded: number, total: number) => void, xhrRef: { current: XMLHttpRequest | null }) {
  return new Promise<{ artifact: DepotArtifact; existed: boolean }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhrRef.current = xhr;
    xhr.open('POST', `/depot/upload?${new URLSearchParams({ fileName: file.name })}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText) as unknown;
      } catch {
        // Not JSON: a proxy's error page.
      }
      if (xhr.status === 200 || xhr.status === 201) {
        resolve({ artifact: body as DepotArtifact, existed: xhr.status === 200 });
        return;
      }
      const problem = (body ?? {}) as { title?: string; detail?: string };
      const message =
        xhr.status === 401
          ? 'Your session has ended — sign in again.'
          : xhr.status === 403
            ? (problem.detail ?? 'Your role does not allow uploads.')
            : xhr.status === 413
              ? (problem.detail ?? 'The file is larger than the depot takes.')
              : [problem.title, problem.detail].filter(Boolean).join(': ') || `The upload failed (HTTP ${xhr.status}).`;
      reject(new Error(message));
    };
    xhr.onerror = () => reject(new Error('The upload was interrupted (network error).'));
    xhr.onabort = () => reject(new DOMException('cancelled', 'AbortError'));
    xhr.send(file);
  });
}

export function UploadDialog({
  open,
  onClose,
  onUploaded,
}: {
  open: boolean;
  onClose: () => void;
  onUploaded?: (artifact: DepotArtifact) => void;
}) {
  const [upload, setUpload] = useState<Upload>({ state: 'idle' });
  const [dragging, setDragging] = useState(false);
  const xhr = useRef<XMLHttpRequest | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const uploadedRef = useRef(onUploaded);
  uploadedRef.current = onUploaded;

  useEffect(() => {
    if (open) setUpload({ state: 'idle' });
  }, [open]);
  // Closing the page (or the dialog) ends an upload under way.
  useEffect(() => () => xhr.current?.abort(), []);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && upload.state !== 'uploading') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open, onClose, upload.state]);

  if (!open) return null;

  const start = (file: File) => {
    setUpload({ state: 'uploading', fileName: file.name, loaded: 0, total: file.size });
    send(file, (loaded, total) => setUpload({ state: 'uploading', fileName: file.name, loaded, total }), xhr)
      .then(({ artifact, existed }) => {
        setUpload({ state: 'done', artifact, existed });
        uploadedRef.current?.(artifact);
      })
      .catch((error: unknown) => {
        if (error instanceof DOMException && error.name === 'AbortError') setUpload({ state: 'cancelled', fileName: file.name });
        else setUpload({ state: 'failed', fileName: file.name, message: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        xhr.current = null;
      });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file && upload.state !== 'uploading') start(file);
  };
  const percent = upload.state === 'uploading' ? (upload.total > 0 ? Math.floor((upload.loaded / upload.total) * 100) : 100) : 0;

  return (
    <div className="fixed inset-0 z-40 flex items-start justify-center bg-zinc-900/30 p-4 pt-24">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="upload-dialog-title"
        data-testid="upload-dialog"
        className="w-full max-w-lg rounded-lg border border-zinc-200 bg-white shadow-lg"
      >
        <header className="flex items-center justify-between border-b border-zinc-200 px-4 py-2.5">
          <h2 id="upload-dialog-title" className="text-[13px] font-semibold text-zinc-900">
            Upload to the depot
          </h2>
          <Button size="sm" variant="ghost" onClick={onClose} disabled={upload.state === 'uploading'} aria-label="Close">
            ✕
          </Button>
        </header>
        <div className="space-y-3 p-4">
          {upload.state === 'uploading' ? (
            <div className="space-y-2" data-testid="upload-progress">
              <p className="truncate text-[13px] text-zinc-800">
                Uploading <span className="font-medium">{upload.fileName}</span>…
              </p>
              <div
                role="progressbar"
                aria-label="Upload progress"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={percent}
                className="h-2 overflow-hidden rounded-full bg-zinc-100"
              >
                <div className="h-full bg-zinc-900 transition-[width]" style={{ width: `${percent}%` }} />
              </div>
              <div className="flex items-center justify-between text-xs text-zinc-500 tabular-nums">
                <span>
                  {formatBytes(upload.loaded)} of {formatBytes(upload.total)} · {percent}%
                </span>
                <Button size="sm" onClick={() => xhr.current?.abort()}>
                  Cancel upload
                </Button>
              </div>
            </div>
          ) : upload.state === 'done' ? (
            <div className="space-y-2" data-testid="upload-result" data-artifact-id={upload.artifact.id}>
              <Alert tone="success">
                {upload.existed ? 'Already in the depot: the same content was uploaded before.' : 'Stored in the depot.'}
              </Alert>
              <dl className="grid grid-cols-[max-content_1fr] gap-x-3 gap-y-0.5 text-xs">
                <dt className="text-zinc-500">File</dt>
                <dd className="font-medium text-zinc-900" data-testid="upload-file-name">
                  {upload.artifact.fileName}
                </dd>
                <dt className="text-zinc-500">Size</dt>
                <dd className="tabular-nums">{formatBytes(upload.artifact.size)}</dd>
                <dt className="text-zinc-500">SHA-256</dt>
                <dd>
                  <code title={upload.artifact.sha256}>{shortSha(upload.artifact.sha256)}</code>
                </dd>
              </dl>
              <ArtifactMetadata metadata={upload.artifact.metadata} />
            </div>
          ) : (
            <>
              {upload.state === 'failed' ? (
                <Alert title={`${upload.fileName} was not uploaded`}>
                  <span data-testid="upload-error">{upload.message}</span>
                </Alert>
              ) : null}
              {upload.state === 'cancelled' ? (
                <Alert tone="warning">Cancelled the upload of {upload.fileName}; nothing was kept.</Alert>
              ) : null}
              <div
                data-testid="upload-drop-zone"
                onDragOver={(e) => {
                  e.preventDefault();
                  setDragging(true);
                }}
                onDragLeave={() => setDragging(false)}
                onDrop={onDrop}
                className={cx(
                  'flex flex-col items-center justify-center gap-2 rounded-md border-2 border-dashed px-4 py-8 text-center text-[13px]',
                  dragging ? 'border-zinc-900 bg-zinc-50' : 'border-zinc-300',
                )}
              >
                <p className="text-zinc-700">Drop an installer here</p>
                <p className="text-xs text-zinc-500">
                  MSI, MSIX, EXE, deb, rpm, scripts, archives: MSI and package properties are read from it.
                </p>
                <label className="cursor-pointer text-xs font-medium text-zinc-900 underline">
                  or choose a file
                  <input
                    ref={input}
                    type="file"
                    className="sr-only"
                    aria-label="File to upload"
                    onChange={(e) => {
                      const file = e.currentTarget.files?.[0];
                      if (file) start(file);
                      e.currentTarget.value = '';
                    }}
                  />
                </label>
              </div>
            </>
          )}
        </div>
        <footer className="flex justify-end gap-2 border-t border-zinc-200 px-4 py-2.5">
          {upload.state === 'done' ? (
            <Button size="sm" onClick={() => setUpload({ state: 'idle' })}>
              Upload another
            </Button>
          ) : null}
          <Button
            size="sm"
            variant={upload.state === 'done' ? 'primary' : 'secondary'}
            onClick={onClose}
            disabled={upload.state === 'uploading'}
          >
            {upload.state === 'done' ? 'Done' : 'Close'}
          </Button>
        </footer>
      </div>
    </div>
  );
}
