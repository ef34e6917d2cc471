using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CaStorage.Core.Security;

/// <summary>
/// A security identifier (MS-DTYP 2.4.2): revision 1, a 48-bit identifier authority and up to 15 sub-authorities.
/// Immutable, compared by value.
/// </summary>
/// <remarks>
/// Binary form (MS-DTYP 2.4.2.2):
/// <code>
///  0        1                  2..7                    8..
/// +--------+------------------+-----------------------+-------------------------------+
/// |Revision|SubAuthorityCount | IdentifierAuthority   | SubAuthority[count] (LE u32)  |
/// |  (1)   |     (0..15)      | (48-bit big-endian)   |                               |
/// +--------+------------------+-----------------------+-------------------------------+
/// </code>
/// </remarks>
public sealed class Sid : IEquatable<Sid>
{
    public const int MaxSubAuthorities = 15;
    private const ulong MaxAuthority = (1UL << 48) - 1;

    private readonly uint[] _subAuthorities;

    public Sid(ulong authority, params uint[] subAuthorities)
    {
        ArgumentNullException.ThrowIfNull(subAuthorities);
        if (authority > MaxAuthority) throw new ArgumentOutOfRangeException(nameof(authority));
        if (subAuthorities.Length > MaxSubAuthorities) throw new ArgumentOutOfRangeException(nameof(subAuthorities));
        Authority = authority;
        _subAuthorities = (uint[])subAuthorities.Clone();
    }

    public ulong Authority { get; }
    public IReadOnlyList<uint> SubAuthorities => _subAuthorities;

    /// <summary>The last sub-authority (the RID of an account SID).</summary>
    public uint Rid => _subAuthorities.Length == 0 ? 0 : _subAuthorities[^1];

    public int BinaryLength => 8 + 4 * _subAuthorities.Length;

    /// <summary>This SID with one more sub-authority (a domain SID plus a RID).</summary>
    public Sid Append(uint rid) => new(Authority, [.. _subAuthorities, rid]);

    /// <summary>True when this SID is <paramref name="domain"/> plus exactly one RID.</summary>
    public bool IsInDomain(Sid domain) =>
        Authority == domain.Authority && _subAuthorities.Length == domain._subAuthorities.Length + 1
        && _subAuthorities.AsSpan(0, domain._subAuthorities.Length).SequenceEqual(domain._subAuthorities);

    /// <summary>Reads a SID at the start of <paramref name="b"/>; false when truncated or not revision 1.</summary>
    public static bool TryRead(ReadOnlySpan<byte> b, out Sid sid, out int length)
    {
        sid = null!;
        length = 0;
        if (b.Length < 8 || b[0] != 1) return false;
        int count = b[1];
        if (count > MaxSubAuthorities) return false;
        length = 8 + 4 * count;
        if (b.Length < length) { length = 0; return false; }
        ulong authority = 0;
        for (var i = 2; i < 8; i++) authority = (authority << 8) | b[i];
        var subs = new uint[count];
        for (var i = 0; i < count; i++) subs[i] = BinaryPrimitives.ReadUInt32LittleEndian(b[(8 + 4 * i)..]);
        sid = new Sid(authority, subs);
        return true;
    }

    public void WriteTo(Span<byte> b)
    {
        b[0] = 1;
        b[1] = (byte)_subAuthorities.Length;
        for (var i = 0; i < 6; i++) b[2 + i] = (byte)(Authority >> (8 * (5 - i)));
        for (var i = 0; i < _subAuthorities.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(b[(8 + 4 * i)..], _subAuthorities[i]);
    }

    public byte[] ToBytes()
    {
        var b = new byte[BinaryLength];
        WriteTo(b);
        return b;
    }

    /// <summary>Parses the string form "S-1-5-21-1-2-3-1000" (MS-DTYP 2.4.2.1); the authority may be hex ("0x…").</summary>
    public static bool TryParse(string? text, out Sid sid)
    {
        sid = null!;
        if (text is null) return false;
        var parts = text.Split('-');
        if (parts.Length < 3 || parts.Length > 3 + MaxSubAuthorities) return false;
        if (!string.Equals(parts[0], "S", StringComparison.OrdinalIgnoreCase) || parts[1] != "1") return false;
        ulong authority;
        if (parts[2].StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!ulong.TryParse(parts[2].AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out authority)) return false;
        }
        else if (!ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out authority))
        {
            return false;
        }
        if (authority > MaxAuthority) return false;
        var subs = new uint[parts.Length - 3];
        for (var i = 0; i < subs.Length; i++)
        {
            if (!uint.TryParse(parts[3 + i], NumberStyles.None, CultureInfo.InvariantCulture, out subs[i])) return false;
        }
        sid = new Sid(authority, subs);
        return true;
    }

    public static Sid Parse(string text) =>
        TryParse(text, out var sid) ? sid : throw new FormatException($"'{text}' is not a SID");

    public override string ToString()
    {
        var sb = new StringBuilder("S-1-");
        if (Authority >> 32 == 0) sb.Append(Authority.ToString(CultureInfo.InvariantCulture));
        else sb.Append("0x").Append(Authority.ToString("X12", CultureInfo.InvariantCulture));
        foreach (var s in _subAuthorities) sb.Append('-').Append(s.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public bool Equals(Sid? other) =>
        other is not null && Authority == other.Authority && _subAuthorities.AsSpan().SequenceEqual(other._subAuthorities);

    public override bool Equals(object? obj) => obj is Sid s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Authority);
        foreach (var s in _subAuthorities) h.Add(s);
        return h.ToHashCode();
    }

    public static bool operator ==(Sid? a, Sid? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(Sid? a, Sid? b) => !(a == b);
}
