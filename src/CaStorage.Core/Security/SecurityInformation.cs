namespace CaStorage.Core.Security;

/// <summary>SECURITY_INFORMATION (MS-DTYP 2.4.7): which parts of a descriptor a query or set is about.</summary>
[Flags]
public enum SecurityInformation : uint
{
    None = 0,
    Owner = 0x00000001,
    Group = 0x00000002,
    Dacl = 0x00000004,
    Sacl = 0x00000008,
    Label = 0x00000010,
    Attribute = 0x00000020,
    Scope = 0x00000040,
    Backup = 0x00010000,
    UnprotectedSacl = 0x10000000,
    UnprotectedDacl = 0x20000000,
    ProtectedSacl = 0x40000000,
    ProtectedDacl = 0x80000000,

    /// <summary>The four parts kept by the file server.</summary>
    OwnerGroupDaclSacl = Owner | Group | Dacl | Sacl,
}
