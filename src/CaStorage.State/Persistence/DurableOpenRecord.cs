using CaStorage.Core;

namespace CaStorage.State.Persistence;

/// <summary>
/// Everything needed to keep a durable or persistent open alive without its connection, and to re-attach it on any
/// node or after a restart (Samba's smbXsrv_open_global + the open's locking.tdb/brlock.tdb/leases.tdb entries).
/// </summary>
public sealed record DurableOpenRecord
{
    public required OpenId Id { get; init; }
    public required FileKey File { get; init; }
    /// <summary>Share-relative path, to reopen the file through the VFS (checked against <see cref="File"/>).</summary>
    public required string Path { get; init; }
    public Guid ClientGuid { get; init; }
    /// <summary>SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 CreateGuid (empty for v1).</summary>
    public Guid CreateGuid { get; init; }
    public Guid AppInstanceId { get; init; }
    public ulong SessionId { get; init; }
    public string UserName { get; init; } = "";
    /// <summary>The owner's SID: a reconnect by another user is refused.</summary>
    public string UserSid { get; init; } = "";
    public AccessMask Access { get; init; }
    public ShareAccess ShareAccess { get; init; }
    public uint CreateOptions { get; init; }
    public bool IsDirectory { get; init; }
    public bool DeleteOnClose { get; init; }
    /// <summary>1 for DHnQ, 2 for DH2Q.</summary>
    public int DurableVersion { get; init; }
    public bool Persistent { get; init; }
    public uint TimeoutMs { get; init; }
    public byte Oplock { get; init; }
    public LeaseRecord? Lease { get; init; }
    public long Position { get; init; }
    /// <summary>Node that holds (or last held) the client's connection.</summary>
    public string Node { get; init; } = "";
    /// <summary>Unix milliseconds at which the open lost its connection; null while connected.</summary>
    public long? DisconnectedAtMs { get; init; }
    public IReadOnlyList<LockRange> Locks { get; init; } = [];
    /// <summary>Open.LockSequenceArray for lock replay detection, hex (65 bytes: unused slot 0, buckets 1..64).</summary>
    public string LockSequences { get; init; } = "";

    /// <summary>The DHnQ/DH2Q request the open was made with, as the record keeps it.</summary>
    public DurableRequest ToDurableRequest() => new()
    {
        Version = DurableVersion, TimeoutMs = TimeoutMs, Persistent = Persistent, CreateGuid = CreateGuid, ClientGuid = ClientGuid,
        AppInstanceId = AppInstanceId, SessionId = SessionId, UserName = UserName, UserSid = UserSid, Path = Path, CreateOptions = CreateOptions,
    };

    /// <summary>The open as a state-tier request, its breaks going to <paramref name="owner"/> (a restore, a reclaim).</summary>
    public OpenRequest ToOpenRequest(string owner) => new()
    {
        File = File, Open = Id, Access = Access, Share = ShareAccess, IsDirectory = IsDirectory, DeleteOnClose = DeleteOnClose, Owner = owner,
        RequestedOplock = Lease is null ? Oplock : OplockLevel.Lease,
        Lease = Lease is { } l ? new LeaseRequest(l.Id, l.State, l.Version, l.ParentKey, l.Epoch) : null,
        Durable = ToDurableRequest(),
    };
}

/// <summary>A lease as the store keeps it (one row per client lease key; several opens may share it).</summary>
public sealed record LeaseRecord(LeaseId Id, FileKey File, LeaseState State, ushort Epoch, int Version, Guid ParentKey);
