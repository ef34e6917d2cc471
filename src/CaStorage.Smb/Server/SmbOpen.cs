using CaStorage.Core;
using CaStorage.State;
using CaStorage.State.Notify;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server;

/// <summary>
/// The node-local, volatile half of an open (Samba's smbXsrv_open local part): the wire FileId's volatile id,
/// the VFS handle, and the id of its state-tier record.
/// </summary>
internal sealed class SmbOpen
{
    public SmbOpen(ulong volatileId, OpenId id, SmbTreeConnect tree, VfsFile file, FileKey key, AccessMask access)
    {
        VolatileId = volatileId;
        Id = id;
        Tree = tree;
        File = file;
        Key = key;
        Access = access;
    }

    public ulong VolatileId { get; }
    public OpenId Id { get; }
    public ulong PersistentId => Id.Value;
    public SmbTreeConnect Tree { get; }
    public SmbSession Session => Tree.Session;
    public VfsFile File { get; }
    public FileKey Key { get; }
    public AccessMask Access { get; }
    /// <summary>What the caller could have been granted when it opened the file (MxAc): descriptor and share limits.</summary>
    public AccessMask MaximalAccess { get; init; }
    public bool IsDirectory => File.IsDirectory;
    public long Position { get; set; }
    public uint Mode { get; set; }
    public bool DeleteOnClose { get; set; }
    public ulong ResumeKey { get; set; }
    /// <summary>Granted oplock level (OplockLevel.Lease when the open is under a lease).</summary>
    public byte OplockLevel { get; set; }
    /// <summary>The key of the lease the open is under.</summary>
    public LeaseId? Lease => LeaseGrant?.Id;
    /// <summary>Data was written through this open: its close reports the change to directory watches.</summary>
    public bool Written { get; set; }
    /// <summary>What the open asked of the state tier (told again to a new shard owner after a failover).</summary>
    public OpenRequest? StateRequest { get; set; }

    /// <summary>The byte-range locks this open holds, as the wire saw them granted (for the same purpose).</summary>
    public List<LockRange> LockMirror { get; } = [];

    /// <summary>The lease as granted at create, then as breaks left it (a replayed create answers with it).</summary>
    public LeaseGrant? LeaseGrant { get; set; }
    /// <summary>Durability granted (DHnQ/DH2Q); such an open outlives its connection.</summary>
    public DurableGrant? Durable { get; set; }
    /// <summary>1 (DHnQ) or 2 (DH2Q) when durability was asked for.</summary>
    public int DurableVersion { get; set; }
    /// <summary>
    /// Open.IsReplayEligible: a DH2Q open answers a replay of its CREATE until the client uses the handle for anything
    /// else (then a replay opens anew: smb2.replay.replay6, Samba's replay cache).
    /// </summary>
    public bool ReplayEligible { get; set; }
    /// <summary>What the CREATE did (a replay answers the same).</summary>
    public CreateAction CreateAction { get; set; }
    public int Closed;

    /// <summary>Open.ChannelSequence and its outstanding request counts (SMB 3.x).</summary>
    public ChannelSequenceState ChannelSequence { get; } = new();

    /// <summary>Completes when a close or disconnect of this open has finished (a reconnect racing the old connection's teardown waits for it).</summary>
    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The directory watch of CHANGE_NOTIFY on this open (kept between requests so no change is lost).</summary>
    public NotifyWatch? Watch { get; set; }

    /// <summary>Directory enumeration cursor (QUERY_DIRECTORY).</summary>
    public DirectoryCursor? Cursor { get; set; }
}

internal sealed class DirectoryCursor
{
    public required List<VfsDirEntry> Entries { get; init; }
    public required string Pattern { get; init; }
    public int Index { get; set; }
    public bool Started { get; set; }
    /// <summary>The directory's change time when the snapshot was taken: if it moves, remaining entries are revalidated.</summary>
    public long SnapshotChangeTime { get; set; }
}
