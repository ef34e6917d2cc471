using System.Buffers.Binary;

namespace CaStorage.Core.Security;

/// <summary>
/// A security descriptor (MS-DTYP 2.4.6): control flags, owner, group, SACL and DACL. Immutable; parsed from and
/// serialized to the self-relative form that travels in SMB2 QUERY_INFO/SET_INFO and the SecD create context.
/// </summary>
/// <remarks>
/// A DACL that is present but null (<see cref="IsNullDacl"/>) grants everything; a present, empty DACL grants nothing
/// but the owner's implicit rights; a descriptor without SE_DACL_PRESENT behaves like a NULL DACL.
/// <code>
///  0        1     2..3      4..7         8..11        12..15      16..19
/// +--------+-----+---------+------------+------------+-----------+-----------+----------------------------+
/// |Revision|Sbz1 | Control | OffsetOwner| OffsetGroup| OffsetSacl| OffsetDacl| SACL, DACL, owner, group … |
/// |  (1)   |     |  (LE)   |   (LE, 0 = absent, relative to the descriptor start)                          |
/// +--------+-----+---------+------------+------------+-----------+-----------+----------------------------+
/// </code>
/// </remarks>
public sealed record SecurityDescriptor
{
    private const int HeaderLength = 20;

    public SecurityDescriptorControl Control { get; init; } = SecurityDescriptorControl.SelfRelative;
    public Sid? Owner { get; init; }
    public Sid? Group { get; init; }
    /// <summary>The DACL; null with SE_DACL_PRESENT is a NULL DACL.</summary>
    public Acl? Dacl { get; init; }
    public Acl? Sacl { get; init; }

    public bool DaclPresent => (Control & SecurityDescriptorControl.DaclPresent) != 0;
    public bool SaclPresent => (Control & SecurityDescriptorControl.SaclPresent) != 0;

    /// <summary>No DACL restricts access: SE_DACL_PRESENT with no ACL, or no DACL at all.</summary>
    public bool IsNullDacl => !DaclPresent || Dacl is null;

    /// <summary>Both ACLs fit the self-relative form's 16-bit size fields.</summary>
    public bool IsWithinLimits => (Dacl?.IsWithinLimits ?? true) && (Sacl?.IsWithinLimits ?? true);

    /// <summary>
    /// Parses a self-relative descriptor (MS-DTYP 2.4.6). False when the revision is not 1, SE_SELF_RELATIVE is
    /// clear, or an offset, SID or ACL is out of bounds or malformed.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> b, out SecurityDescriptor sd)
    {
        sd = null!;
        if (b.Length < HeaderLength || b[0] != 1) return false;
        var control = (SecurityDescriptorControl)BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        if ((control & SecurityDescriptorControl.SelfRelative) == 0) return false;
        var offOwner = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        var offGroup = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        var offSacl = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        var offDacl = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]);
        Sid? owner = null, group = null;
        Acl? sacl = null, dacl = null;
        if (offOwner != 0 && !TryReadSid(b, offOwner, out owner)) return false;
        if (offGroup != 0 && !TryReadSid(b, offGroup, out group)) return false;
        if ((control & SecurityDescriptorControl.SaclPresent) != 0 && offSacl != 0 && !TryReadAcl(b, offSacl, out sacl)) return false;
        if ((control & SecurityDescriptorControl.DaclPresent) != 0 && offDacl != 0 && !TryReadAcl(b, offDacl, out dacl)) return false;
        sd = new SecurityDescriptor { Control = control, Owner = owner, Group = group, Sacl = sacl, Dacl = dacl };
        return true;
    }

    private static bool TryReadSid(ReadOnlySpan<byte> b, uint offset, out Sid? sid)
    {
        sid = null;
        if (offset < HeaderLength || offset >= (uint)b.Length || !Sid.TryRead(b[(int)offset..], out var s, out _)) return false;
        sid = s;
        return true;
    }

    private static bool TryReadAcl(ReadOnlySpan<byte> b, uint offset, out Acl? acl)
    {
        acl = null;
        if (offset < HeaderLength || offset >= (uint)b.Length || !Acl.TryRead(b[(int)offset..], out var a)) return false;
        acl = a;
        return true;
    }

    /// <summary>
    /// Serializes the parts named by <paramref name="parts"/> in Windows order (SACL, DACL, owner, group). The control
    /// word keeps only the flags of the parts included, plus SE_SELF_RELATIVE.
    /// </summary>
    public byte[] ToSelfRelative(SecurityInformation parts = SecurityInformation.OwnerGroupDaclSacl)
    {
        var owner = (parts & SecurityInformation.Owner) != 0 ? Owner : null;
        var group = (parts & SecurityInformation.Group) != 0 ? Group : null;
        var control = Control & ~(SecurityDescriptorControl.DaclBits | SecurityDescriptorControl.SaclBits
            | SecurityDescriptorControl.OwnerDefaulted | SecurityDescriptorControl.GroupDefaulted);
        control |= SecurityDescriptorControl.SelfRelative;
        Acl? dacl = null, sacl = null;
        if ((parts & SecurityInformation.Dacl) != 0)
        {
            control |= Control & SecurityDescriptorControl.DaclBits;
            dacl = DaclPresent ? Dacl : null;
        }
        if ((parts & SecurityInformation.Sacl) != 0)
        {
            control |= Control & SecurityDescriptorControl.SaclBits;
            sacl = SaclPresent ? Sacl : null;
        }
        if (owner is not null) control |= Control & SecurityDescriptorControl.OwnerDefaulted;
        if (group is not null) control |= Control & SecurityDescriptorControl.GroupDefaulted;

        var length = HeaderLength + (sacl?.Length ?? 0) + (dacl?.Length ?? 0) + (owner?.BinaryLength ?? 0) + (group?.BinaryLength ?? 0);
        var b = new byte[length];
        b[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)control);
        var off = HeaderLength;
        if (sacl is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), (uint)off); sacl.WriteTo(b.AsSpan(off)); off += sacl.Length; }
        if (dacl is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), (uint)off); dacl.WriteTo(b.AsSpan(off)); off += dacl.Length; }
        if (owner is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)off); owner.WriteTo(b.AsSpan(off)); off += owner.BinaryLength; }
        if (group is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)off); group.WriteTo(b.AsSpan(off)); }
        return b;
    }

    /// <summary>
    /// The parts of <paramref name="update"/> named by <paramref name="parts"/> replace those of this descriptor
    /// (SET_INFO with SECURITY_INFORMATION bits). An owner or group that the update leaves out is kept. A DACL set
    /// without SE_DACL_PRESENT becomes a NULL DACL, as on Windows.
    /// </summary>
    public SecurityDescriptor Merge(SecurityDescriptor update, SecurityInformation parts)
    {
        var result = this;
        if ((parts & SecurityInformation.Owner) != 0 && update.Owner is not null)
        {
            result = result with
            {
                Owner = update.Owner,
                Control = (result.Control & ~SecurityDescriptorControl.OwnerDefaulted) | (update.Control & SecurityDescriptorControl.OwnerDefaulted),
            };
        }
        if ((parts & SecurityInformation.Group) != 0 && update.Group is not null)
        {
            result = result with
            {
                Group = update.Group,
                Control = (result.Control & ~SecurityDescriptorControl.GroupDefaulted) | (update.Control & SecurityDescriptorControl.GroupDefaulted),
            };
        }
        if ((parts & SecurityInformation.Dacl) != 0)
        {
            result = result with
            {
                Dacl = update.DaclPresent ? update.Dacl : null,
                Control = (result.Control & ~SecurityDescriptorControl.DaclBits) | SecurityDescriptorControl.DaclPresent | update.StoredDaclBits,
            };
        }
        if ((parts & SecurityInformation.Sacl) != 0)
        {
            result = result with
            {
                Sacl = update.SaclPresent ? update.Sacl : null,
                Control = (result.Control & ~SecurityDescriptorControl.SaclBits) | update.StoredSaclBits,
            };
        }
        return result with { Control = result.Control | SecurityDescriptorControl.SelfRelative };
    }

    /// <summary>
    /// The DACL control bits a set (or a creator's descriptor) leaves stored: SE_DACL_PROTECTED as given;
    /// SE_DACL_AUTO_INHERITED only together with the SE_DACL_AUTO_INHERIT_REQ request, which is itself never stored
    /// (MS-DTYP 2.4.6; what Windows and Samba return, smb2.acls.INHERITFLAGS).
    /// </summary>
    public SecurityDescriptorControl StoredDaclBits => StoredBits(SecurityDescriptorControl.DaclPresent, SecurityDescriptorControl.DaclProtected,
        SecurityDescriptorControl.DaclAutoInherited, SecurityDescriptorControl.DaclAutoInheritRequired);

    /// <summary>The SACL control bits a set leaves stored (as <see cref="StoredDaclBits"/>).</summary>
    public SecurityDescriptorControl StoredSaclBits => StoredBits(SecurityDescriptorControl.SaclPresent, SecurityDescriptorControl.SaclProtected,
        SecurityDescriptorControl.SaclAutoInherited, SecurityDescriptorControl.SaclAutoInheritRequired);

    private SecurityDescriptorControl StoredBits(SecurityDescriptorControl present, SecurityDescriptorControl isProtected,
        SecurityDescriptorControl autoInherited, SecurityDescriptorControl request)
    {
        var bits = Control & (present | isProtected);
        if ((Control & (autoInherited | request)) == (autoInherited | request)) bits |= autoInherited;
        return bits;
    }

    /// <summary>GENERIC_* bits of the ACEs that apply to the object itself mapped to file rights (inherit-only ACEs keep theirs).</summary>
    public SecurityDescriptor MapGenericRights() => this with { Dacl = Dacl?.MapGenericRights(), Sacl = Sacl?.MapGenericRights() };

    public bool Equals(SecurityDescriptor? other) =>
        other is not null && Control == other.Control && Owner == other.Owner && Group == other.Group
        && Equals(Dacl, other.Dacl) && Equals(Sacl, other.Sacl);

    public override int GetHashCode() => HashCode.Combine(Control, Owner, Group);
}
