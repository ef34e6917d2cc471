namespace CaStorage.Smb.Protocol;

/// <summary>MS-SMB2 2.2.1.2 Command.</summary>
internal enum SmbCommand : ushort
{
    Negotiate = 0x00,
    SessionSetup = 0x01,
    Logoff = 0x02,
    TreeConnect = 0x03,
    TreeDisconnect = 0x04,
    Create = 0x05,
    Close = 0x06,
    Flush = 0x07,
    Read = 0x08,
    Write = 0x09,
    Lock = 0x0A,
    Ioctl = 0x0B,
    Cancel = 0x0C,
    Echo = 0x0D,
    QueryDirectory = 0x0E,
    ChangeNotify = 0x0F,
    QueryInfo = 0x10,
    SetInfo = 0x11,
    OplockBreak = 0x12,
}

/// <summary>MS-SMB2 2.2.1.2 Flags.</summary>
[Flags]
internal enum SmbFlags : uint
{
    None = 0,
    ServerToRedir = 0x1,
    AsyncCommand = 0x2,
    RelatedOperations = 0x4,
    Signed = 0x8,
    PriorityMask = 0x70,
    DfsOperations = 0x10000000,
    ReplayOperation = 0x20000000,
}

internal static class SmbDialect
{
    public const ushort Smb202 = 0x0202;
    public const ushort Smb210 = 0x0210;
    public const ushort Smb300 = 0x0300;
    public const ushort Smb302 = 0x0302;
    public const ushort Smb311 = 0x0311;
    public const ushort Wildcard = 0x02FF;

    public static bool Is3x(ushort dialect) => dialect >= Smb300 && dialect != Wildcard;
    public static bool IsSupported(ushort d) => d is Smb202 or Smb210 or Smb300 or Smb302 or Smb311;
}
