using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// The "user.DOSATTRIB" extended attribute in Samba's own format (NDR xattr_DOSATTRIB, librpc/idl/xattr.idl and
/// librpc/ndr/ndr_xattr.c), so a share can move between Samba and CaStorage without losing DOS attributes or
/// creation times. We write version 5, exactly as Samba's set_ea_dos_attribute does (24 bytes, little-endian):
/// <code>
///  0  attrib_hex   ASCII, NUL-terminated: "" for v5 (1 byte) + 1 pad byte (uint16 alignment)
///  2  version      uint16 = 5
///  4  level        uint16 = 5 (union switch) + 2 pad bytes (alignment 4)
///  8  valid_flags  uint32 = XATTR_DOSINFO_ATTRIB (0x1) | XATTR_DOSINFO_CREATE_TIME (0x10)
/// 12  attrib       uint32 FILE_ATTRIBUTE_* bits
/// 16  create_time  NTTIME (uint64 FILETIME)
/// </code>
/// We read versions 1, 2 (attributes only), 3, 4, 5 and the old hex-string-only form.
/// </summary>
internal static class DosAttribXattr
{
    public const string Name = "user.DOSATTRIB";
    public const uint ValidAttrib = 0x1, ValidCreateTime = 0x10;

    public static byte[] Encode(uint attributes, long creationTime)
    {
        var b = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), 5);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), 5);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), ValidAttrib | ValidCreateTime);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), attributes);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), creationTime);
        return b;
    }

    /// <summary>Decodes any known version. Attributes null when not valid; creation time null when absent or zero.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> blob, out uint? attributes, out long? creationTime)
    {
        attributes = null;
        creationTime = null;
        var nul = blob.IndexOf((byte)0);
        if (nul < 0) return false;
        var hex = blob[..nul];
        var off = nul + 1;
        if (off >= blob.Length)
        {
            // Compat form (version 0xFFFF): only the "0x..." hex string.
            var text = Encoding.ASCII.GetString(hex);
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
            if (!uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var a)) return false;
            attributes = a;
            return true;
        }
        off = Align(off, 2);
        if (!TryU16(blob, off, out var version)) return false;
        off = Align(off + 2, 4);
        if (!TryU16(blob, off, out var level) || level != version) return false;
        off = Align(off + 2, 4);

        uint flags;
        uint attrib;
        long create;
        switch (version)
        {
            case 1: // attrib, ea_size, size, alloc_size, create_time, change_time
                if (!TryU32(blob, off, out attrib) || !TryI64(blob, off + 24, out create)) return false;
                attributes = attrib;
                if (create != 0) creationTime = create;
                return true;
            case 2: // flags, attrib, ...: Samba reads only the attributes of this old form
                if (!TryU32(blob, off + 4, out attrib)) return false;
                attributes = attrib;
                return true;
            case 3: // valid_flags, attrib, ea_size, size, alloc_size, create_time, change_time
                if (!TryU32(blob, off, out flags) || !TryU32(blob, off + 4, out attrib) || !TryI64(blob, off + 28, out create)) return false;
                break;
            case 4: // valid_flags, attrib, itime, create_time
                if (!TryU32(blob, off, out flags) || !TryU32(blob, off + 4, out attrib) || !TryI64(blob, off + 16, out create)) return false;
                break;
            case 5: // valid_flags, attrib, create_time
                if (!TryU32(blob, off, out flags) || !TryU32(blob, off + 4, out attrib) || !TryI64(blob, off + 8, out create)) return false;
                break;
            default:
                return false;
        }
        // Samba reads attrib regardless of XATTR_DOSINFO_ATTRIB for these versions (parse_dos_attribute_blob).
        attributes = attrib;
        if ((flags & ValidCreateTime) != 0 && create != 0) creationTime = create;
        return true;
    }

    private static int Align(int off, int n) => (off + n - 1) & ~(n - 1);

    private static bool TryU16(ReadOnlySpan<byte> b, int off, out ushort v)
    {
        v = 0;
        if (off < 0 || off + 2 > b.Length) return false;
        v = BinaryPrimitives.ReadUInt16LittleEndian(b[off..]);
        return true;
    }

    private static bool TryU32(ReadOnlySpan<byte> b, int off, out uint v)
    {
        v = 0;
        if (off < 0 || off + 4 > b.Length) return false;
        v = BinaryPrimitives.ReadUInt32LittleEndian(b[off..]);
        return true;
    }

    private static bool TryI64(ReadOnlySpan<byte> b, int off, out long v)
    {
        v = 0;
        if (off < 0 || off + 8 > b.Length) return false;
        v = BinaryPrimitives.ReadInt64LittleEndian(b[off..]);
        return true;
    }
}
