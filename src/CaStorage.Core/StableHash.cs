using System.Text;

namespace CaStorage.Core;

/// <summary>
/// A hash that never changes between processes or versions (never GetHashCode): shard placement depends on it.
/// FNV-1a 64 (System.IO.Hashing is not obtainable here); pinned by test vectors.
/// </summary>
public static class StableHash
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Fnv1a64(ReadOnlySpan<byte> data) => Step(Offset, data);

    /// <summary>FNV-1a 64 of a string's UTF-8 bytes, without allocating for names of ordinary length.</summary>
    public static ulong Of(string text) => Step(Offset, text);

    /// <summary>
    /// Shard placement hash: the share name's UTF-8 bytes, a zero separator (so ("a",x) and ("",...) never collide by
    /// concatenation), then the id little-endian. Called for every state-tier message, so it allocates nothing.
    /// </summary>
    public static ulong Of(FileKey key)
    {
        var h = Step(Offset, key.Share);
        h = Step(h, [0]);
        Span<byte> id = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(id, key.FileId);
        return Step(h, id);
    }

    private static ulong Step(ulong h, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) { h ^= b; h *= Prime; }
        return h;
    }

    private static ulong Step(ulong h, string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (max > 1024) return Step(h, Encoding.UTF8.GetBytes(text));
        Span<byte> buf = stackalloc byte[max];
        return Step(h, buf[..Encoding.UTF8.GetBytes(text, buf)]);
    }

    public static int Shard(FileKey key, int shardCount) => (int)(Of(key) % (ulong)shardCount);
}
