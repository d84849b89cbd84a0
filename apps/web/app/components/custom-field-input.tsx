/** An input for one custom field's value, by the field's type (empty = no value / clear). */
import { Input, Select } from './ui';

export type CustomFieldDef = { key: string; label: string; type: 'text' | 'number' | 'boolean' | 'date' | 'enum'; enumValues: string[] };

export function CustomFieldInput({
  def,
  name,
  label,
  defaultValue,
  className,
  id,
}: {
  def: CustomFieldDef;
  name: string;
  /** Accessible name (aria-label) unless `id` ties it to a visible <label>. */
  label?: string;
  defaultValue: string;
  className?: string;
  id?: string;
}) {
  const common = { name, defaultValue, className, id, ...(label ? { 'aria-label': label } : {}) };
  if (def.type === 'boolean') {
    return (
      <Select {...common}>
        <option value="">—</option>
        <option value="true">Yes</option>
        <option value="false">No</option>
      </Select>
    );
  }
  if (def.type === 'enum') {
    const values = defaultValue && !def.enumValues.includes(defaultValue) ? [...def.enumValues, defaultValue] : def.enumValues;
    return (
      <Select {...common}>
        <option value="">—</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </Select>
    );
  }
  return (
    <Input
      {...common}
      type={def.type === 'number' ? 'number' : def.type === 'date' ? 'date' : 'text'}
      step={def.type === 'number' ? 'any' : undefined}
      maxLength={def.type === 'text' ? 1000 : undefined}
      autoComplete="off"
    />
  );
}
