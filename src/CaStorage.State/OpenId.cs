using System.Buffers.Binary;
using System.Security.Cryptography;
using CaStorage.Core;

namespace CaStorage.State;

/// <summary>
/// Cluster-unique id of an open (the persistent half of an SMB2 FileId). Bits 48-55 carry the shard of its file, so a
/// reconnect after a failover is routed to the shard's owner without any look-up (ARCHITECTURE §2).
/// </summary>
public readonly record struct OpenId(ulong Value)
{
    /// <summary>Shards of the state tier, fixed for a cluster's life (8 bits of an OpenId): a file's home, else hash(FileKey) mod N.</summary>
    public const int ShardCount = 256;
    private const int ShardShift = 48;

    public int Shard => (int)((Value >> ShardShift) & 0xFF);

    public static int ShardOf(FileKey file) => FileHome.TryGet(file, out var home) ? home : StableHash.Shard(file, ShardCount);

    /// <summary>A fresh random id for an open of <paramref name="file"/> (never 0, never all ones).</summary>
    public static OpenId New(FileKey file)
    {
        Span<byte> b = stackalloc byte[8];
        RandomNumberGenerator.Fill(b);
        var v = BinaryPrimitives.ReadUInt64LittleEndian(b) & 0x7F00_FFFF_FFFF_FFFFUL;
        if ((v & 0xFFFF_FFFF_FFFF) == 0) v |= 1;
        return new OpenId(v | (ulong)ShardOf(file) << ShardShift);
    }

    public override string ToString() => Value.ToString("x16");
}
