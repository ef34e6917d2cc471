namespace CaStorage.Core.Security;

/// <summary>ACE_HEADER.AceFlags (MS-DTYP 2.4.4.1).</summary>
[Flags]
public enum AceFlags : byte
{
    None = 0,
    /// <summary>OI: inherited by non-container children (files).</summary>
    ObjectInherit = 0x01,
    /// <summary>CI: inherited by container children (directories).</summary>
    ContainerInherit = 0x02,
    /// <summary>NP: inherited one level only; the inherited copy loses OI/CI.</summary>
    NoPropagateInherit = 0x04,
    /// <summary>IO: does not apply to this object, only to children.</summary>
    InheritOnly = 0x08,
    /// <summary>The ACE was inherited from the parent.</summary>
    Inherited = 0x10,
    SuccessfulAccess = 0x40,
    FailedAccess = 0x80,

    InheritanceFlags = ObjectInherit | ContainerInherit | NoPropagateInherit | InheritOnly,
}
