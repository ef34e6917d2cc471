using System.Buffers.Binary;
using System.Text;

namespace CaStorage.Smb.Protocol;

/// <summary>
/// Bounds-checked reads from one SMB2 message (offsets relative to the header, as MS-SMB2 defines them).
/// Every method returns false instead of throwing on short input.
/// </summary>
internal static class SmbReader
{
    public static bool TryU8(ReadOnlySpan<byte> m, int off, out byte v) { v = 0; if ((uint)off >= (uint)m.Length) return false; v = m[off]; return true; }
    public static bool TryU16(ReadOnlySpan<byte> m, int off, out ushort v) { v = 0; if (off < 0 || off + 2 > m.Length) return false; v = BinaryPrimitives.ReadUInt16LittleEndian(m[off..]); return true; }
    public static bool TryU32(ReadOnlySpan<byte> m, int off, out uint v) { v = 0; if (off < 0 || off + 4 > m.Length) return false; v = BinaryPrimitives.ReadUInt32LittleEndian(m[off..]); return true; }
    public static bool TryU64(ReadOnlySpan<byte> m, int off, out ulong v) { v = 0; if (off < 0 || off + 8 > m.Length) return false; v = BinaryPrimitives.ReadUInt64LittleEndian(m[off..]); return true; }

    /// <summary>A buffer given by offset/length; an empty buffer may have any offset.</summary>
    public static bool TrySlice(ReadOnlySpan<byte> m, long off, long len, out int start)
    {
        start = 0;
        if (len == 0) return true;
        if (off < 0 || len < 0 || off + len > m.Length) return false;
        start = (int)off;
        return true;
    }

    private static readonly UnicodeEncoding StrictUtf16 = new(false, false, true);

    /// <summary>Strict UTF-16LE decoding: odd lengths and lone surrogates are invalid names.</summary>
    public static bool TryUtf16(ReadOnlySpan<byte> bytes, out string value)
    {
        value = "";
        if ((bytes.Length & 1) != 0) return false;
        try { value = StrictUtf16.GetString(bytes); return true; }
        catch (DecoderFallbackException) { return false; }
    }
}
