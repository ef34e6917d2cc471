using CaStorage.Core;

namespace CaStorage.State;

/// <summary>
/// A file's home shard, carried in its FileKey as an OpenId carries its shard. In a cluster the node that creates a file
/// proposes one of its own shards and the VFS records the choice with the file, first proposal wins (the creator is the
/// likeliest user of a new file: its opens, locks and I/O checks then need no hop); a file found without a home gets its
/// id's hash, so files from before, or from outside SMB, route as they always did. A key without a home hashes.
/// Homed id: bit 63 set, bits 55-62 the shard, bits 0-54 the VFS's id (an inode number; a stream's hash cut to 55 bits).
/// </summary>
public static class FileHome
{
    private const ulong Flag = 1UL << 63;
    private const int Shift = 55;
    private const ulong IdMask = (1UL << Shift) - 1;

    /// <summary>The key of <paramref name="file"/> (its VFS id) living in <paramref name="shard"/>.</summary>
    public static FileKey With(FileKey file, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, OpenId.ShardCount);
        return file with { FileId = Flag | (ulong)shard << Shift | (file.FileId & IdMask) };
    }

    public static bool TryGet(FileKey file, out int shard)
    {
        shard = (int)((file.FileId >> Shift) & 0xFF);
        return (file.FileId & Flag) != 0;
    }

    /// <summary>Does <paramref name="key"/> name the file whose VFS id is <paramref name="vfsId"/>?</summary>
    public static bool Names(FileKey key, ulong vfsId) =>
        key.FileId == vfsId || ((key.FileId & Flag) != 0 && (key.FileId & IdMask) == (vfsId & IdMask));
}
