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

    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        var h = Offset;
        foreach (var b in data) { h ^= b; h *= Prime; }
        return h;
    }

    public static ulong Of(FileKey key)
    {
        var share = Encoding.UTF8.GetBytes(key.Share);
        Span<byte> id = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(id, key.FileId);
        var h = Offset;
        foreach (var b in share) { h ^= b; h *= Prime; }
        h ^= 0; h *= Prime; // separator so ("a",x) and ("",...) never collide by concatenation
        foreach (var b in id) { h ^= b; h *= Prime; }
        return h;
    }

    public static int Shard(FileKey key, int shardCount) => (int)(Of(key) % (ulong)shardCount);
}
