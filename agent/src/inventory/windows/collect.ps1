#Requires -Version 5.1
<#
  OpsConductor agent - raw Windows inventory.

  Prints ONE compressed JSON object on stdout and nothing else. The script only gathers; every
  decision (mapping, normalising, defaults) is made by parse.ts, where it can be tested with
  recorded fixtures. Each part is collected independently: a failing cmdlet leaves its field null
  and adds an entry to Errors, it never loses the rest of the report.

  Windows PowerShell 5.1 compatible: no ternaries, no ?? / ?., no PowerShell 7 cmdlets.
  Must run in 64-bit PowerShell on 64-bit Windows (the agent makes sure), although the registry
  reads below open both views explicitly.
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# UTF-8 without BOM, whatever the console code page: Node reads the pipe as UTF-8. Without a console
# (some service hosts) setting it can throw; the output is then still JSON, only non-ASCII may suffer.
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
# PowerShell 5.1 type data makes ConvertTo-Json write some arrays as {"value":[...],"Count":n}.
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue

$script:Errors = New-Object System.Collections.Generic.List[object]

# Runs a block; on failure records the error and yields $null. Arrays come back as arrays even with a
# single element (blocks that produce lists end with ,@(...)), so the JSON shape does not depend on counts.
function Invoke-Part {
    param([string]$Name, [scriptblock]$Block)
    try {
        $result = & $Block
        return , $result
    } catch {
        $message = ($_.Exception.Message -replace '\s+', ' ').Trim()
        if ($message.Length -gt 500) { $message = $message.Substring(0, 500) }
        $script:Errors.Add([pscustomobject]@{ Part = $Name; Message = $message })
        return $null
    }
}

# Get-CimInstance where it works; Get-WmiObject (dates as DMTF strings) where the CIM cmdlets fail.
function Get-Instances {
    param([string]$Class, [string]$Namespace = 'root\cimv2', [string]$Filter)
    $params = @{ ClassName = $Class; Namespace = $Namespace }
    if ($Filter) { $params.Filter = $Filter }
    try {
        return Get-CimInstance @params
    } catch {
        $wmi = @{ Class = $Class; Namespace = $Namespace }
        if ($Filter) { $wmi.Filter = $Filter }
        return Get-WmiObject @wmi
    }
}

function Open-Hklm {
    param([Microsoft.Win32.RegistryView]$View)
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $View)
}

$out = [ordered]@{}
$out.SchemaVersion = 1
$out.CollectedAt = (Get-Date).ToUniversalTime().ToString('o')
$out.PSVersion = $PSVersionTable.PSVersion.ToString()
$out.ComputerName = $env:COMPUTERNAME
$out.ProcessorArchitecture = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
$out.Is64BitOperatingSystem = [Environment]::Is64BitOperatingSystem

$out.NetworkIdentity = Invoke-Part 'NetworkIdentity' {
    $p = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties()
    [pscustomobject]@{ HostName = $p.HostName; DomainName = $p.DomainName }
}

$out.OperatingSystem = Invoke-Part 'OperatingSystem' {
    Get-Instances -Class Win32_OperatingSystem |
        Select-Object Caption, Version, BuildNumber, OSArchitecture, ProductType, LastBootUpTime, LocalDateTime, InstallDate, TotalVisibleMemorySize, FreePhysicalMemory
}

$out.CurrentVersion = Invoke-Part 'CurrentVersion' {
    Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' |
        Select-Object DisplayVersion, ReleaseId, UBR, EditionID, ProductName
}

$out.ComputerSystem = Invoke-Part 'ComputerSystem' {
    Get-Instances -Class Win32_ComputerSystem |
        Select-Object Name, DNSHostName, Domain, PartOfDomain, Workgroup, DomainRole, HypervisorPresent, Manufacturer, Model, TotalPhysicalMemory, PCSystemType
}

$out.ComputerSystemProduct = Invoke-Part 'ComputerSystemProduct' {
    Get-Instances -Class Win32_ComputerSystemProduct | Select-Object UUID, IdentifyingNumber, Vendor, Name
}

$out.Bios = Invoke-Part 'Bios' {
    Get-Instances -Class Win32_BIOS | Select-Object Manufacturer, SMBIOSBIOSVersion, ReleaseDate, SerialNumber
}

$out.Enclosure = Invoke-Part 'Enclosure' {
    Get-Instances -Class Win32_SystemEnclosure | Select-Object -First 1 @{ n = 'ChassisTypes'; e = { , @($_.ChassisTypes) } }
}

$out.Processors = Invoke-Part 'Processors' {
    , @(Get-Instances -Class Win32_Processor | Select-Object Name, NumberOfCores, NumberOfLogicalProcessors, SocketDesignation, LoadPercentage)
}

$out.DiskDrives = Invoke-Part 'DiskDrives' {
    , @(Get-Instances -Class Win32_DiskDrive | Select-Object Index, DeviceID, Model, Size, MediaType, InterfaceType)
}

$out.PhysicalDisks = Invoke-Part 'PhysicalDisks' {
    , @(Get-PhysicalDisk | ForEach-Object {
            [pscustomobject]@{ DeviceId = [string]$_.DeviceId; MediaType = [string]$_.MediaType; BusType = [string]$_.BusType; FriendlyName = $_.FriendlyName }
        })
}

$out.LogicalDisks = Invoke-Part 'LogicalDisks' {
    , @(Get-Instances -Class Win32_LogicalDisk -Filter 'DriveType = 3' | Select-Object DeviceID, FileSystem, Size, FreeSpace, VolumeName)
}

$out.NetworkAdapters = Invoke-Part 'NetworkAdapters' {
    , @(Get-Instances -Class Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = True' |
            Select-Object Index, InterfaceIndex, Description, MACAddress, @{ n = 'IPAddress'; e = { , @($_.IPAddress) } })
}

$out.NetAdapterNames = Invoke-Part 'NetAdapterNames' {
    , @(Get-Instances -Class Win32_NetworkAdapter -Filter 'NetConnectionID IS NOT NULL' | Select-Object InterfaceIndex, NetConnectionID)
}

$out.Uninstall = Invoke-Part 'Uninstall' {
    $views = @()
    if ([Environment]::Is64BitOperatingSystem) {
        $views += [pscustomobject]@{ View = [Microsoft.Win32.RegistryView]::Registry64; Hive = '64' }
    }
    # On 64-bit Windows the 32-bit view is WOW6432Node; on 32-bit Windows it is the only view.
    $views += [pscustomobject]@{ View = [Microsoft.Win32.RegistryView]::Registry32; Hive = '32' }
    $entries = New-Object System.Collections.Generic.List[object]
    foreach ($v in $views) {
        $base = Open-Hklm $v.View
        try {
            $root = $base.OpenSubKey('SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall')
            if ($null -eq $root) { continue }
            foreach ($name in $root.GetSubKeyNames()) {
                $key = $null
                try {
                    $key = $root.OpenSubKey($name)
                    if ($null -eq $key) { continue }
                    $entries.Add([pscustomobject]@{
                            Hive            = $v.Hive
                            PSChildName     = $name
                            DisplayName     = $key.GetValue('DisplayName')
                            DisplayVersion  = $key.GetValue('DisplayVersion')
                            Publisher       = $key.GetValue('Publisher')
                            InstallDate     = $key.GetValue('InstallDate')
                            WindowsInstaller = $key.GetValue('WindowsInstaller')
                            SystemComponent = $key.GetValue('SystemComponent')
                            ParentKeyName   = $key.GetValue('ParentKeyName')
                            ReleaseType     = $key.GetValue('ReleaseType')
                        })
                } catch {
                    # One unreadable key (odd ACL) must not cost the whole list.
                } finally {
                    if ($null -ne $key) { $key.Close() }
                }
            }
            $root.Close()
        } finally {
            $base.Close()
        }
    }
    , $entries.ToArray()
}

# Installer\UpgradeCodes maps packed upgrade codes to the packed product codes installed under them.
$out.UpgradeCodes = Invoke-Part 'UpgradeCodes' {
    $base = Open-Hklm ([Microsoft.Win32.RegistryView]::Registry64)
    try {
        $root = $base.OpenSubKey('SOFTWARE\Classes\Installer\UpgradeCodes')
        $list = New-Object System.Collections.Generic.List[object]
        if ($null -ne $root) {
            foreach ($name in $root.GetSubKeyNames()) {
                $key = $root.OpenSubKey($name)
                if ($null -eq $key) { continue }
                $codes = @($key.GetValueNames() | Where-Object { $_ })
                $key.Close()
                $list.Add([pscustomobject]@{ UpgradeCode = $name; ProductCodes = $codes })
            }
            $root.Close()
        }
        , $list.ToArray()
    } finally {
        $base.Close()
    }
}

$out.Services = Invoke-Part 'Services' {
    , @(Get-Instances -Class Win32_Service | Select-Object Name, DisplayName, State, StartMode)
}

$out.ListeningTcpPorts = Invoke-Part 'ListeningTcpPorts' {
    , @(Get-NetTCPConnection -State Listen | ForEach-Object { [int]$_.LocalPort } | Sort-Object -Unique)
}

# Get-LocalGroupMember fails on groups holding orphaned SIDs of deleted domain accounts; net.exe copes.
$out.LocalAdmins = Invoke-Part 'LocalAdmins' {
    , @(Get-LocalGroupMember -SID 'S-1-5-32-544' | ForEach-Object { [string]$_.Name })
}
$out.LocalAdminsNet = $null
if ($null -eq $out.LocalAdmins) {
    $out.LocalAdminsNet = Invoke-Part 'LocalAdminsNet' {
        $ErrorActionPreference = 'Continue'
        # The group's name is localised (Administratoren, Administrateurs): resolve it from its SID.
        $account = (New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-544')).Translate([System.Security.Principal.NTAccount]).Value
        $group = $account.Split('\')[-1]
        $lines = & "$env:SystemRoot\System32\net.exe" localgroup $group 2>$null
        if ($LASTEXITCODE -ne 0) { throw "net localgroup exited with code $LASTEXITCODE" }
        , @($lines)
    }
}

$out.Rdp = Invoke-Part 'Rdp' {
    Get-ItemProperty -Path 'HKLM:\System\CurrentControlSet\Control\Terminal Server' | Select-Object fDenyTSConnections
}

$out.BitLocker = Invoke-Part 'BitLocker' {
    , @(Get-BitLockerVolume | ForEach-Object {
            [pscustomobject]@{
                MountPoint       = $_.MountPoint
                VolumeType       = [string]$_.VolumeType
                VolumeStatus     = [string]$_.VolumeStatus
                ProtectionStatus = [string]$_.ProtectionStatus
                EncryptionMethod = [string]$_.EncryptionMethod
            }
        })
}
$out.EncryptableVolumes = $null
if ($null -eq $out.BitLocker) {
    $out.EncryptableVolumes = Invoke-Part 'EncryptableVolumes' {
        , @(Get-Instances -Namespace 'root\cimv2\Security\MicrosoftVolumeEncryption' -Class Win32_EncryptableVolume |
                Select-Object DriveLetter, ProtectionStatus, ConversionStatus, EncryptionMethod)
    }
}

$out.Defender = Invoke-Part 'Defender' {
    Get-MpComputerStatus | Select-Object AMServiceEnabled, AntivirusEnabled, RealTimeProtectionEnabled, AntivirusSignatureAge, AntivirusSignatureVersion, AntivirusSignatureLastUpdated, DefenderSignaturesOutOfDate, AMRunningMode
}

# Security Center knows third-party antivirus products; it exists on client editions only.
$out.AntivirusProducts = Invoke-Part 'AntivirusProducts' {
    , @(Get-Instances -Namespace 'root\SecurityCenter2' -Class AntiVirusProduct | Select-Object displayName, productState)
}

$out.FirewallProfiles = Invoke-Part 'FirewallProfiles' {
    , @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {
            [pscustomobject]@{ Name = [string]$_.Name; Enabled = [string]$_.Enabled }
        })
}

$out.PendingReboot = Invoke-Part 'PendingReboot' {
    $sessionManager = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -ErrorAction SilentlyContinue
    [pscustomobject]@{
        ComponentBasedServicing = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
        WindowsUpdate           = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
        PendingFileRename       = ($null -ne $sessionManager -and $null -ne $sessionManager.PendingFileRenameOperations)
    }
}

$out.TimeZone = Invoke-Part 'TimeZone' {
    $tz = Get-TimeZone
    [pscustomobject]@{ Id = $tz.Id; DisplayName = $tz.DisplayName }
}

$out.Firmware = Invoke-Part 'Firmware' {
    $secureBoot = $null
    try { $secureBoot = [bool](Confirm-SecureBootUEFI) } catch { $secureBoot = $null }
    [pscustomobject]@{ FirmwareType = $env:firmware_type; SecureBoot = $secureBoot }
}

$out.Performance = Invoke-Part 'Performance' {
    $cpu = Get-Instances -Class Win32_PerfFormattedData_PerfOS_Processor -Filter "Name = '_Total'" | Select-Object -First 1
    [pscustomobject]@{ ProcessorPercent = $cpu.PercentProcessorTime }
}

$out.Errors = $script:Errors.ToArray()

$out | ConvertTo-Json -Depth 6 -Compress
