namespace CaStorage.Core;

/// <summary>NTSTATUS values CaStorage sends or interprets (MS-ERREF 2.3.1).</summary>
public enum NtStatus : uint
{
    Success = 0x00000000,
    Pending = 0x00000103,
    NotifyCleanup = 0x0000010B,
    NotifyEnumDir = 0x0000010C,
    BufferOverflow = 0x80000005,
    NoMoreFiles = 0x80000006,
    StoppedOnSymlink = 0x8000002D,
    Unsuccessful = 0xC0000001,
    NotImplemented = 0xC0000002,
    InvalidInfoClass = 0xC0000003,
    InfoLengthMismatch = 0xC0000004,
    InvalidHandle = 0xC0000008,
    InvalidParameter = 0xC000000D,
    NoSuchDevice = 0xC000000E,
    NoSuchFile = 0xC000000F,
    InvalidDeviceRequest = 0xC0000010,
    EndOfFile = 0xC0000011,
    MoreProcessingRequired = 0xC0000016,
    NoMemory = 0xC0000017,
    AccessDenied = 0xC0000022,
    BufferTooSmall = 0xC0000023,
    ObjectTypeMismatch = 0xC0000024,
    ObjectNameInvalid = 0xC0000033,
    ObjectNameNotFound = 0xC0000034,
    ObjectNameCollision = 0xC0000035,
    InvalidPort = 0xC0000037,
    ObjectPathInvalid = 0xC0000039,
    ObjectPathNotFound = 0xC000003A,
    ObjectPathSyntaxBad = 0xC000003B,
    SharingViolation = 0xC0000043,
    EaTooLarge = 0xC0000050,
    NonexistentEaEntry = 0xC0000051,
    NoEasOnFile = 0xC0000052,
    EaCorruptError = 0xC0000053,
    InvalidViewSize = 0xC000001F,
    InvalidEaName = 0x80000013,
    FileLockConflict = 0xC0000054,
    LockNotGranted = 0xC0000055,
    InvalidLockRange = 0xC00001A1,
    DeletePending = 0xC0000056,
    PrivilegeNotHeld = 0xC0000061,
    WrongPassword = 0xC000006A,
    LogonFailure = 0xC000006D,
    AccountRestriction = 0xC000006E,
    PasswordExpired = 0xC0000071,
    AccountDisabled = 0xC0000072,
    NoneMapped = 0xC0000073,
    RangeNotLocked = 0xC000007E,
    DiskFull = 0xC000007F,
    InsufficientResources = 0xC000009A,
    MediaWriteProtected = 0xC00000A2,
    FileIsADirectory = 0xC00000BA,
    NotSupported = 0xC00000BB,
    NetworkNameDeleted = 0xC00000C9,
    NetworkAccessDenied = 0xC00000CA,
    BadNetworkName = 0xC00000CC,
    RequestNotAccepted = 0xC00000D0,
    NotSameDevice = 0xC00000D4,
    FileRenamed = 0xC00000D5,
    PipeNotAvailable = 0xC00000AC,
    InvalidPipeState = 0xC00000AD,
    PipeBusy = 0xC00000AE,
    PipeDisconnected = 0xC00000B0,
    PipeClosing = 0xC00000B1,
    PipeBroken = 0xC000014B,
    InternalError = 0xC00000E5,
    DirectoryNotEmpty = 0xC0000101,
    FileCorruptError = 0xC0000102,
    NotADirectory = 0xC0000103,
    Cancelled = 0xC0000120,
    CannotDelete = 0xC0000121,
    FileDeleted = 0xC0000123,
    FileClosed = 0xC0000128,
    InvalidLevel = 0xC0000148,
    InvalidOwner = 0xC000005A,
    InvalidPrimaryGroup = 0xC000005B,
    InvalidAcl = 0xC0000077,
    InvalidSid = 0xC0000078,
    InvalidSecurityDescr = 0xC0000079,
    UserSessionDeleted = 0xC0000203,
    NetworkSessionExpired = 0xC000035C,
    IoTimeout = 0xC00000B5,
    NotFound = 0xC0000225,
    InvalidDeviceState = 0xC0000184,
    NotAReparsePoint = 0xC0000275,
    DuplicateObjectId = 0xC000022A,
    FsDriverRequired = 0xC000019C,
    ObjectNameExists = 0x40000000,
    DirectoryIsAReparsePoint = 0xC0000281,
    SmbBadClusterDialect = 0xC05D0001,
    SmbNoPreauthIntegrityHashOverlap = 0xC05D0000,
    InvalidNetworkResponse = 0xC00000C3,
    FileNotAvailable = 0xC0000467,
    ObjectIdNotFound = 0xC00002F0,
    HandleNoLongerValid = 0xC0190028,
    RequestOutOfSequence = 0xC000042A,
    Timeout = 0x00000102,
    IllegalCharacter = 0xC0000161,
    TooManyOpenedFiles = 0xC000011F,
    NameTooLong = 0xC0000106,
    UserMappedFile = 0xC0000243,
    BadImpersonationLevel = 0xC00000A5,
    FileSystemLimitation = 0xC0000427,
    OplockNotGranted = 0xC00000E2,
    InvalidOplockProtocol = 0xC00000E3,
    NotLocked = 0xC000002A,
    BadDeviceType = 0xC00000CB,
    TooManySessions = 0xC00000CE,
}

public static class NtStatusExtensions
{
    public static bool IsError(this NtStatus status) => ((uint)status >> 30) == 3;
    public static bool IsSuccess(this NtStatus status) => ((uint)status >> 30) == 0;

    /// <summary>The MS-ERREF name for logs, e.g. STATUS_OBJECT_NAME_NOT_FOUND.</summary>
    public static string ToWireName(this NtStatus status)
    {
        var name = status.ToString();
        if (char.IsDigit(name[0])) return $"0x{(uint)status:X8}";
        var sb = new System.Text.StringBuilder("STATUS");
        foreach (var c in name)
        {
            if (char.IsUpper(c)) sb.Append('_');
            sb.Append(char.ToUpperInvariant(c));
        }
        return sb.ToString();
    }
}
