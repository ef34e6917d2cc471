using CaStorage.Core;
using System.Collections.Concurrent;
using CaStorage.Core.Security;
using CaStorage.Smb.Security;
using CaStorage.State;
using CaStorage.State.Persistence;
using CaStorage.State.Notify;
using CaStorage.Vfs;
using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Server;

/// <summary>A share as the wire layer serves it.</summary>
/// <param name="EncryptData">Share.EncryptData (SMB2_SHAREFLAG_ENCRYPT_DATA): requests on this share must be encrypted.</param>
public sealed record SmbShare(string Name, VfsStack Stack, bool ReadOnly = false, bool ContinuouslyAvailable = false, bool EncryptData = false)
{
    /// <summary>Stable 64-bit id of the share's volume (QFid, FileIdInformation, object ids): the same on every node.</summary>
    internal ulong VolumeId => StableHash.Of(Name);
}

/// <summary>Server-wide settings of the wire layer (built by the host from its configuration model).</summary>
public sealed record SmbServerSettings
{
    public Guid ServerGuid { get; init; } = Guid.NewGuid();
    public string NetBiosName { get; init; } = "CASTORAGE";
    public string DomainName { get; init; } = "WORKGROUP";
    public bool SigningRequired { get; init; }
    public SmbEncryptionMode Encryption { get; init; } = SmbEncryptionMode.Enabled;
    public bool AllowGuest { get; init; }
    /// <summary>Null sessions may authenticate (Samba's default); they reach IPC$ only, never a disk share.</summary>
    public bool AllowAnonymous { get; init; } = true;
    /// <summary>SMB 3.x multichannel: SMB2_GLOBAL_CAP_MULTI_CHANNEL is offered and sessions may bind further connections.</summary>
    public bool MultiChannel { get; init; } = true;
    public uint MaxReadSize { get; init; } = 8 * 1024 * 1024;
    public uint MaxWriteSize { get; init; } = 8 * 1024 * 1024;
    public uint MaxTransactSize { get; init; } = 8 * 1024 * 1024;
    public ushort MaxCredits { get; init; } = 8192;
    public ushort MinDialect { get; init; } = 0x0202;
    public ushort MaxDialect { get; init; } = 0x0311;
    /// <summary>Windows identities (SIDs and tokens) of the configured users, guests and anonymous sessions.</summary>
    public NtIdentityMap Identities { get; init; } = NtIdentityMap.Default;
}

/// <summary>Everything the connections of one node share: settings, shares, users, the state tier.</summary>
public sealed partial class SmbServerContext : IOpenDirectory
{
    private readonly ConcurrentDictionary<string, SmbShare> _shares = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<ulong, SmbSession> _sessions = new();
    private readonly ConcurrentDictionary<ulong, SmbOpen> _resumeKeys = new();
    // Connected opens by persistent id (Samba's GlobalOpenTable, node-local part): replays and App Instance Ids find them.
    private readonly ConcurrentDictionary<OpenId, SmbOpen> _opens = new();
    private long _nextVolatileId;

    public SmbServerContext(SmbServerSettings settings, IEnumerable<SmbShare> shares, IReadOnlyDictionary<string, byte[]> ntHashes,
        IFileStateService fileState, ILoggerFactory loggerFactory, TimeProvider time, SmbClientNotifier? notifier = null)
    {
        Notifier = notifier ?? new SmbClientNotifier();
        Settings = settings;
        foreach (var s in shares) _shares[s.Name] = s;
        Users = new NtHashUserStore(ntHashes);
        FileState = fileState;
        LoggerFactory = loggerFactory;
        Time = time;
        StartTime = time.GetUtcNow();
        FileState.OpenExpired = OnOpenExpired;
    }

    /// <summary>
    /// A disconnected durable open was closed by the state tier (expired, or purged by a break it could not answer).
    /// Its VFS handle went at disconnect; a delete-on-close it carried clears the pending delete (the file stays:
    /// removing it needs a tree connect of its user, which is gone).
    /// </summary>
    private void OnOpenExpired(FileKey file, ExpiredOpen expired)
    {
        if (expired.Outcome.DeleteNow) _ = FileState.FileDeletedAsync(file).AsTask();
    }

    public SmbServerSettings Settings { get; }
    public IFileStateService FileState { get; }
    /// <summary>The operators' view of the state tier (this node's file actors), when <see cref="FileState"/> routes elsewhere.</summary>
    public CaStorage.State.Inspection.IFileStateInspector? Inspector { get; init; }

    /// <summary>In a cluster: ends a session another node holds (PreviousSessionId of a reconnect here).</summary>
    public Func<ulong, string, Task>? EndRemoteSession { get; set; }

    /// <summary>In a cluster: closes an open whose client is on another node; true when one did.</summary>
    public Func<OpenId, Task<bool>>? CloseRemoteOpen { get; set; }

    /// <summary>
    /// In a cluster: may this node act on a request now? False once it fenced itself; a node whose membership is not
    /// current waits for it to settle first (a node resumed after a pause must not act on what it no longer owns).
    /// </summary>
    public Func<CancellationToken, ValueTask<bool>>? Serving { get; set; }

    /// <summary>Does this node hold that session for that user?</summary>
    public bool HoldsSession(ulong id, string user) =>
        _sessions.TryGetValue(id, out var s) && string.Equals(s.User?.Name, user, StringComparison.OrdinalIgnoreCase);

    /// <summary>"node/" in a cluster: opens are tagged with the node that holds their connection, for breaks.</summary>
    public string OwnerPrefix { get => Volatile.Read(ref _ownerPrefix); set => Volatile.Write(ref _ownerPrefix, value); }
    private string _ownerPrefix = "";

    /// <summary>The state store's group-commit writer (null in tests without a store): metrics and shutdown.</summary>
    public StoreWriter? StoreWriter { get; init; }
    public ChangeNotifyHub Notify { get; } = new();
    /// <summary>Where this node's connections register so the state tier's breaks reach them.</summary>
    public SmbClientNotifier Notifier { get; }
    public ILoggerFactory LoggerFactory { get; }
    public TimeProvider Time { get; }
    public DateTimeOffset StartTime { get; }
    internal INtlmUserStore Users { get; }

    public IReadOnlyCollection<SmbShare> Shares => _shares.Values.ToArray();
    public bool TryGetShare(string name, out SmbShare share) => _shares.TryGetValue(name, out share!);
    public void AddOrUpdateShare(SmbShare share) => _shares[share.Name] = share;
    public bool RemoveShare(string name) => _shares.TryRemove(name, out _);

    public int SessionCount => _sessions.Count;
    internal bool TryRegisterSession(SmbSession s) => _sessions.TryAdd(s.Id, s);
    internal void UnregisterSession(SmbSession s) => _sessions.TryRemove(new KeyValuePair<ulong, SmbSession>(s.Id, s));
    internal bool TryGetSession(ulong id, out SmbSession s) => _sessions.TryGetValue(id, out s!);

    /// <summary>
    /// The volatile half of a new FileId. Unique on the node, not only per connection: a session's opens are reachable
    /// from every channel, so two connections of one session must never hand out the same id.
    /// </summary>
    internal ulong NextVolatileId() => (ulong)Interlocked.Increment(ref _nextVolatileId);

    // CREATEs with a CreateGuid that wait (STATUS_PENDING) for a break: a replay of one is refused until it finishes.
    private readonly ConcurrentDictionary<(Guid Client, Guid Create), int> _pendingCreates = new();

    internal (Guid, Guid)? BeginPendingCreate(Guid client, Guid create)
    {
        _pendingCreates.AddOrUpdate((client, create), 1, static (_, n) => n + 1);
        return (client, create);
    }

    internal void EndPendingCreate((Guid Client, Guid Create) key)
    {
        if (_pendingCreates.AddOrUpdate(key, 0, static (_, n) => n - 1) <= 0) _pendingCreates.TryRemove(new KeyValuePair<(Guid, Guid), int>(key, 0));
    }

    internal bool IsCreatePending(Guid client, Guid create) => _pendingCreates.ContainsKey((client, create));

    internal void TrackOpen(SmbOpen open) => _opens[open.Id] = open;

    /// <summary>Connected opens of files in these shards, as this node's clients hold them (for a new shard owner).</summary>
    public IReadOnlyList<ReassertedOpen> ConnectedOpens(IReadOnlySet<int> shards)
    {
        var list = new List<ReassertedOpen>();
        foreach (var o in _opens.Values)
        {
            // A connection of this node's former membership is on its way out: its opens are not held any more.
            if (o.Closed != 0 || o.StateRequest is not { } req || !o.Session.Connection.OfCurrentMembership
                || !shards.Contains(OpenId.ShardOf(o.Key))) continue;
            LockRange[] locks;
            lock (o.LockMirror) locks = [.. o.LockMirror];
            list.Add(new ReassertedOpen(req with { Owner = o.Session.Connection.Owner }, o.Lease is null ? o.OplockLevel : OplockLevel.None,
                o.LeaseGrant, locks, o.Durable));
        }
        return list;
    }
    internal void UntrackOpen(SmbOpen open) => _opens.TryRemove(new KeyValuePair<OpenId, SmbOpen>(open.Id, open));
    internal bool TryGetOpen(OpenId id, out SmbOpen open) => _opens.TryGetValue(id, out open!);
    public int OpenCount => _opens.Count;

    internal void RegisterResumeKey(ulong key, SmbOpen open) => _resumeKeys[key] = open;
    internal void UnregisterResumeKey(ulong key) => _resumeKeys.TryRemove(key, out _);
    internal bool TryGetResumeKey(ulong key, out SmbOpen open) => _resumeKeys.TryGetValue(key, out open!);

    private sealed class NtHashUserStore(IReadOnlyDictionary<string, byte[]> hashes) : INtlmUserStore
    {
        private readonly Dictionary<string, byte[]> _hashes = new(hashes, StringComparer.OrdinalIgnoreCase);
        public byte[]? GetNtHash(string userName) => _hashes.TryGetValue(userName, out var h) ? h : null;
    }
}
