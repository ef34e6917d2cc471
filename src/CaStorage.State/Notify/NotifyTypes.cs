namespace CaStorage.State.Notify;

/// <summary>FILE_NOTIFY_INFORMATION actions (MS-FSCC 2.7.1).</summary>
public enum NotifyAction : uint
{
    Added = 1,
    Removed = 2,
    Modified = 3,
    RenamedOldName = 4,
    RenamedNewName = 5,
}

/// <summary>FILE_NOTIFY_CHANGE_* completion filter bits (MS-SMB2 2.2.35).</summary>
[Flags]
public enum NotifyFilter : uint
{
    None = 0,
    FileName = 0x1,
    DirName = 0x2,
    Attributes = 0x4,
    Size = 0x8,
    LastWrite = 0x10,
    LastAccess = 0x20,
    Creation = 0x40,
    Ea = 0x80,
    Security = 0x100,
    StreamName = 0x200,
    StreamSize = 0x400,
    StreamWrite = 0x800,
}

/// <summary>One change, named relative to the watched directory.</summary>
public readonly record struct NotifyEvent(NotifyAction Action, string Name);

/// <summary>
/// What a wait on a watch produced: events, or an overflow (STATUS_NOTIFY_ENUM_DIR), or the watch closing, or its
/// directory becoming delete-pending (STATUS_DELETE_PENDING).
/// </summary>
public readonly record struct NotifyBatch(IReadOnlyList<NotifyEvent> Events, bool Overflow, bool Closed, bool DeletePending = false);
