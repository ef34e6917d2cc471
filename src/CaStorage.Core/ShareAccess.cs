namespace CaStorage.Core;

/// <summary>MS-SMB2 2.2.13 ShareAccess.</summary>
[Flags]
public enum ShareAccess : uint
{
    None = 0,
    Read = 0x1,
    Write = 0x2,
    Delete = 0x4,
    All = Read | Write | Delete,
}

/// <summary>MS-SMB2 2.2.13 CreateDisposition.</summary>
public enum CreateDisposition : uint
{
    Supersede = 0,
    Open = 1,
    Create = 2,
    OpenIf = 3,
    Overwrite = 4,
    OverwriteIf = 5,
}

/// <summary>MS-SMB2 2.2.13 CreateOptions.</summary>
[Flags]
public enum CreateOptions : uint
{
    None = 0,
    DirectoryFile = 0x1,
    WriteThrough = 0x2,
    SequentialOnly = 0x4,
    NoIntermediateBuffering = 0x8,
    SynchronousIoAlert = 0x10,
    SynchronousIoNonAlert = 0x20,
    NonDirectoryFile = 0x40,
    CompleteIfOplocked = 0x100,
    NoEaKnowledge = 0x200,
    RandomAccess = 0x800,
    DeleteOnClose = 0x1000,
    OpenByFileId = 0x2000,
    OpenForBackupIntent = 0x4000,
    NoCompression = 0x8000,
    OpenRemoteInstance = 0x400,
    OpenRequiringOplock = 0x10000,
    DisallowExclusive = 0x20000,
    ReserveOpfilter = 0x100000,
    OpenReparsePoint = 0x200000,
    OpenNoRecall = 0x400000,
    OpenForFreeSpaceQuery = 0x800000,
}

/// <summary>MS-SMB2 2.2.14 CreateAction.</summary>
public enum CreateAction : uint
{
    Superseded = 0,
    Opened = 1,
    Created = 2,
    Overwritten = 3,
}
