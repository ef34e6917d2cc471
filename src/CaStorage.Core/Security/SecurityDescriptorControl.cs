namespace CaStorage.Core.Security;

/// <summary>SECURITY_DESCRIPTOR.Control (MS-DTYP 2.4.6).</summary>
[Flags]
public enum SecurityDescriptorControl : ushort
{
    None = 0,
    OwnerDefaulted = 0x0001,
    GroupDefaulted = 0x0002,
    DaclPresent = 0x0004,
    DaclDefaulted = 0x0008,
    SaclPresent = 0x0010,
    SaclDefaulted = 0x0020,
    DaclTrusted = 0x0040,
    ServerSecurity = 0x0080,
    DaclAutoInheritRequired = 0x0100,
    SaclAutoInheritRequired = 0x0200,
    DaclAutoInherited = 0x0400,
    SaclAutoInherited = 0x0800,
    DaclProtected = 0x1000,
    SaclProtected = 0x2000,
    ResourceManagerControlValid = 0x4000,
    SelfRelative = 0x8000,

    /// <summary>The bits that travel with the DACL when it is queried or set alone.</summary>
    DaclBits = DaclPresent | DaclDefaulted | DaclAutoInheritRequired | DaclAutoInherited | DaclProtected,
    /// <summary>The bits that travel with the SACL.</summary>
    SaclBits = SaclPresent | SaclDefaulted | SaclAutoInheritRequired | SaclAutoInherited | SaclProtected,
}
