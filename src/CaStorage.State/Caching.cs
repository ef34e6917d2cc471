namespace CaStorage.State;

/// <summary>MS-SMB2 2.2.13 RequestedOplockLevel / 2.2.14 OplockLevel.</summary>
public static class OplockLevel
{
    public const byte None = 0x00;
    public const byte LevelII = 0x01;
    public const byte Exclusive = 0x08;
    public const byte Batch = 0x09;
    public const byte Lease = 0xFF;
}

/// <summary>Lease caching state bits (MS-SMB2 2.2.13.2.8): Read, Handle, Write.</summary>
[Flags]
public enum LeaseState : uint
{
    None = 0,
    Read = 0x1,
    Handle = 0x2,
    Write = 0x4,
    ReadHandle = Read | Handle,
    ReadWrite = Read | Write,
    All = Read | Handle | Write,
}

/// <summary>A lease is named by the client that holds it and its key (MS-SMB2 3.3.1.4: LeaseTable per ClientGuid).</summary>
public readonly record struct LeaseId(Guid ClientGuid, Guid Key);

/// <summary>What a CREATE asks for in its RqLs context (v1, or v2 with parent key and epoch).</summary>
public sealed record LeaseRequest(LeaseId Id, LeaseState State, int Version, Guid ParentKey, ushort Epoch);

/// <summary>The lease as granted or currently held.</summary>
public sealed record LeaseGrant(LeaseId Id, LeaseState State, ushort Epoch, bool Breaking, int Version, Guid ParentKey)
{
    /// <summary>While Breaking: the state the client was asked to drop to.</summary>
    public LeaseState BreakTo { get; init; }
}

/// <summary>
/// Delivers break notifications to the node that holds the client's connection (ARCHITECTURE §2). The state tier
/// calls it from inside a file actor: implementations only queue, never block.
/// </summary>
public interface IClientNotifier
{
    void OplockBreak(string owner, OpenId open, byte newLevel);
    void LeaseBreak(string owner, LeaseId lease, LeaseState current, LeaseState newState, ushort newEpoch, bool ackRequired, int version);
}

/// <summary>A notifier that drops everything (state-tier tests without a wire layer).</summary>
public sealed class NullClientNotifier : IClientNotifier
{
    public static readonly NullClientNotifier Instance = new();
    public void OplockBreak(string owner, OpenId open, byte newLevel) { }
    public void LeaseBreak(string owner, LeaseId lease, LeaseState current, LeaseState newState, ushort newEpoch, bool ackRequired, int version) { }
}
