using CaStorage.Core;
using CaStorage.State.Persistence;

namespace CaStorage.State;

/// <summary>
/// A CREATE's durable (DHnQ) or durable v2 / persistent (DH2Q) request, with what the state tier must remember to
/// let the client re-attach. The wire layer has already applied the protocol's rules (dialect, CA share, defaults).
/// </summary>
public sealed record DurableRequest
{
    /// <summary>1 for DHnQ, 2 for DH2Q.</summary>
    public required int Version { get; init; }
    public required uint TimeoutMs { get; init; }
    /// <summary>A persistent handle may be granted (SMB 3.x, CA share, SMB2_DHANDLE_FLAG_PERSISTENT).</summary>
    public bool Persistent { get; init; }
    public Guid CreateGuid { get; init; }
    public Guid ClientGuid { get; init; }
    public Guid AppInstanceId { get; init; }
    public ulong SessionId { get; init; }
    public string UserName { get; init; } = "";
    public string UserSid { get; init; } = "";
    /// <summary>Share-relative path (stream included), to reopen the file.</summary>
    public required string Path { get; init; }
    public uint CreateOptions { get; init; }
}

/// <summary>Durability granted to an open (the DHnQ / DH2Q response).</summary>
public sealed record DurableGrant(uint TimeoutMs, bool Persistent);

/// <summary>A DHnC / DH2C reconnect: who asks, and what they claim about the open.</summary>
public sealed record ReconnectRequest
{
    public required OpenId Open { get; init; }
    /// <summary>The share of the tree the reconnect came on: an open of another share is not found.</summary>
    public string Share { get; init; } = "";
    public required int Version { get; init; }
    public Guid CreateGuid { get; init; }
    public Guid ClientGuid { get; init; }
    public string UserSid { get; init; } = "";
    /// <summary>The lease key of the request's RqLs context, if any.</summary>
    public Guid? LeaseKey { get; init; }
    /// <summary>The name in the CREATE (share-relative).</summary>
    public string Path { get; init; } = "";
    public bool PersistentFlag { get; init; }
    /// <summary>The connection breaks are routed to from now on.</summary>
    public required string Owner { get; init; }
    public ulong SessionId { get; init; }
}

/// <summary>Outcome of a reconnect: the open's stored state, and its oplock/lease as an open decision.</summary>
/// <param name="Busy">The open exists but is still connected (its old connection's loss not yet seen, perhaps on another
/// node): the caller may ask again shortly.</param>
public sealed record ReconnectResult(NtStatus Status, DurableOpenRecord? Record = null, OpenDecision? Decision = null, bool Busy = false);

/// <summary>Where an open lives: its id and its file (whose shard owner holds its state).</summary>
public readonly record struct OpenLocation(OpenId Open, FileKey File);

/// <summary>A disconnected durable open that was closed by the state tier (timeout, a break it cannot answer).</summary>
public sealed record ExpiredOpen(DurableOpenRecord Record, CloseOutcome Outcome);
