using System.Buffers.Binary;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// A self-relative security descriptor (MS-DTYP 2.4.6) kept as its raw parts. Enough to synthesize a default,
/// validate what a client sends, merge by SECURITY_INFORMATION bits and serialize again. ACL contents are kept
/// as opaque (validated) byte blocks.
/// </summary>
internal sealed class SecurityDescriptor
{
    public const uint OwnerSecurityInformation = 0x1, GroupSecurityInformation = 0x2,
        DaclSecurityInformation = 0x4, SaclSecurityInformation = 0x8;

    public const ushort SeOwnerDefaulted = 0x0001, SeGroupDefaulted = 0x0002, SeDaclPresent = 0x0004, SeDaclDefaulted = 0x0008,
        SeSaclPresent = 0x0010, SeSaclDefaulted = 0x0020, SeDaclAutoInherited = 0x0400, SeSaclAutoInherited = 0x0800,
        SeDaclProtected = 0x1000, SeSaclProtected = 0x2000, SeSelfRelative = 0x8000;

    private const ushort DaclControlBits = SeDaclPresent | SeDaclDefaulted | SeDaclAutoInherited | SeDaclProtected | 0x0100;
    private const ushort SaclControlBits = SeSaclPresent | SeSaclDefaulted | SeSaclAutoInherited | SeSaclProtected | 0x0200;

    /// <summary>BUILTIN\Administrators, S-1-5-32-544.</summary>
    public static readonly byte[] BuiltinAdministrators = Sid(5, 32, 544);
    /// <summary>Everyone, S-1-1-0.</summary>
    public static readonly byte[] Everyone = Sid(1, 0);

    public ushort Control { get; set; }
    public byte[]? Owner { get; set; }
    public byte[]? Group { get; set; }
    /// <summary>The DACL bytes when SE_DACL_PRESENT and not a NULL DACL.</summary>
    public byte[]? Dacl { get; set; }
    public byte[]? Sacl { get; set; }

    /// <summary>Owner and group BUILTIN\Administrators; DACL: Everyone FILE_ALL_ACCESS (inherited by children of a directory).</summary>
    public static SecurityDescriptor CreateDefault(bool isDirectory)
    {
        const uint fileAllAccess = 0x001F01FF;
        var aceFlags = isDirectory ? (byte)0x03 : (byte)0x00; // OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
        return new SecurityDescriptor
        {
            Control = SeSelfRelative | SeDaclPresent,
            Owner = BuiltinAdministrators,
            Group = BuiltinAdministrators,
            Dacl = Acl((0x00, aceFlags, fileAllAccess, Everyone)),
        };
    }

    /// <summary>Serializes the parts selected by <paramref name="securityInformation"/> (owner, group, DACL, SACL).</summary>
    public byte[] ToSelfRelative(uint securityInformation)
    {
        var owner = (securityInformation & OwnerSecurityInformation) != 0 ? Owner : null;
        var group = (securityInformation & GroupSecurityInformation) != 0 ? Group : null;
        var control = (ushort)(Control & ~(DaclControlBits | SaclControlBits | SeOwnerDefaulted | SeGroupDefaulted));
        control |= SeSelfRelative;
        byte[]? dacl = null, sacl = null;
        if ((securityInformation & DaclSecurityInformation) != 0)
        {
            control |= (ushort)(Control & DaclControlBits);
            dacl = (Control & SeDaclPresent) != 0 ? Dacl : null;
        }
        if ((securityInformation & SaclSecurityInformation) != 0)
        {
            control |= (ushort)(Control & SaclControlBits);
            sacl = (Control & SeSaclPresent) != 0 ? Sacl : null;
        }
        if (owner is not null) control |= (ushort)(Control & SeOwnerDefaulted);
        if (group is not null) control |= (ushort)(Control & SeGroupDefaulted);

        var length = 20 + (sacl?.Length ?? 0) + (dacl?.Length ?? 0) + (owner?.Length ?? 0) + (group?.Length ?? 0);
        var b = new byte[length];
        b[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), control);
        var off = 20;
        // Windows order: SACL, DACL, owner, group.
        if (sacl is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), (uint)off); sacl.CopyTo(b, off); off += sacl.Length; }
        if (dacl is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), (uint)off); dacl.CopyTo(b, off); off += dacl.Length; }
        if (owner is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)off); owner.CopyTo(b, off); off += owner.Length; }
        if (group is not null) { BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)off); group.CopyTo(b, off); }
        return b;
    }

    /// <summary>Parses and validates a self-relative descriptor; false when malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> b, out SecurityDescriptor sd)
    {
        sd = new SecurityDescriptor();
        if (b.Length < 20 || b[0] != 1) return false;
        var control = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        if ((control & SeSelfRelative) == 0) return false;
        var offOwner = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        var offGroup = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        var offSacl = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        var offDacl = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]);
        sd.Control = control;
        if (offOwner != 0) { if (!TryReadSid(b, offOwner, out var s)) return false; sd.Owner = s; }
        if (offGroup != 0) { if (!TryReadSid(b, offGroup, out var s)) return false; sd.Group = s; }
        if ((control & SeDaclPresent) != 0 && offDacl != 0) { if (!TryReadAcl(b, offDacl, out var a)) return false; sd.Dacl = a; }
        if ((control & SeSaclPresent) != 0 && offSacl != 0) { if (!TryReadAcl(b, offSacl, out var a)) return false; sd.Sacl = a; }
        return true;
    }

    /// <summary>Replaces the parts named by <paramref name="securityInformation"/> with those of <paramref name="update"/>.</summary>
    public void Merge(SecurityDescriptor update, uint securityInformation)
    {
        if ((securityInformation & OwnerSecurityInformation) != 0 && update.Owner is not null)
        {
            Owner = update.Owner;
            Control = (ushort)((Control & ~SeOwnerDefaulted) | (update.Control & SeOwnerDefaulted));
        }
        if ((securityInformation & GroupSecurityInformation) != 0 && update.Group is not null)
        {
            Group = update.Group;
            Control = (ushort)((Control & ~SeGroupDefaulted) | (update.Control & SeGroupDefaulted));
        }
        if ((securityInformation & DaclSecurityInformation) != 0)
        {
            Dacl = update.Dacl;
            Control = (ushort)((Control & ~DaclControlBits) | (update.Control & DaclControlBits));
        }
        if ((securityInformation & SaclSecurityInformation) != 0)
        {
            Sacl = update.Sacl;
            Control = (ushort)((Control & ~SaclControlBits) | (update.Control & SaclControlBits));
        }
        Control |= SeSelfRelative;
    }

    public static byte[] Sid(byte authority, params uint[] subAuthorities)
    {
        var b = new byte[8 + 4 * subAuthorities.Length];
        b[0] = 1;
        b[1] = (byte)subAuthorities.Length;
        b[7] = authority; // 48-bit big-endian identifier authority
        for (var i = 0; i < subAuthorities.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8 + 4 * i), subAuthorities[i]);
        return b;
    }

    public static byte[] Acl(params (byte Type, byte Flags, uint Mask, byte[] Sid)[] aces)
    {
        var size = 8 + aces.Sum(a => 8 + a.Sid.Length);
        var b = new byte[size];
        b[0] = 2; // ACL_REVISION
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)size);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), (ushort)aces.Length);
        var off = 8;
        foreach (var (type, flags, mask, sid) in aces)
        {
            b[off] = type;
            b[off + 1] = flags;
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(off + 2), (ushort)(8 + sid.Length));
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off + 4), mask);
            sid.CopyTo(b, off + 8);
            off += 8 + sid.Length;
        }
        return b;
    }

    private static bool TryReadSid(ReadOnlySpan<byte> b, uint offset, out byte[] sid)
    {
        sid = [];
        if (offset < 20 || offset + 8 > (uint)b.Length) return false;
        var o = (int)offset;
        if (b[o] != 1) return false;
        int count = b[o + 1];
        if (count > 15) return false;
        var len = 8 + 4 * count;
        if (o + len > b.Length) return false;
        sid = b.Slice(o, len).ToArray();
        return true;
    }

    private static bool TryReadAcl(ReadOnlySpan<byte> b, uint offset, out byte[] acl)
    {
        acl = [];
        if (offset < 20 || offset + 8 > (uint)b.Length) return false;
        var o = (int)offset;
        var revision = b[o];
        if (revision is not (2 or 4)) return false;
        int size = BinaryPrimitives.ReadUInt16LittleEndian(b[(o + 2)..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(b[(o + 4)..]);
        if (size < 8 || o + size > b.Length) return false;
        var ace = 8;
        for (var i = 0; i < count; i++)
        {
            if (ace + 4 > size) return false;
            int aceSize = BinaryPrimitives.ReadUInt16LittleEndian(b[(o + ace + 2)..]);
            if (aceSize < 4 || (aceSize & 3) != 0 || ace + aceSize > size) return false;
            ace += aceSize;
        }
        acl = b.Slice(o, size).ToArray();
        return true;
    }
}
