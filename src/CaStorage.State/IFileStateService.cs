using CaStorage.Core;

namespace CaStorage.State;

/// <summary>
/// The state tier's coordination seam for the wire layer. Each call becomes a message to the file actor that
/// owns the FileKey (locally on one node; routed to the shard owner in a cluster).
/// </summary>
public interface IFileStateService
{
    ValueTask<OpenDecision> OpenAsync(OpenRequest request, CancellationToken ct);
    ValueTask<CloseOutcome> CloseAsync(FileKey file, OpenId open);

    /// <summary>FileDispositionInformation: sets or clears delete-pending through this open.</summary>
    ValueTask<NtStatus> SetDeletePendingAsync(FileKey file, OpenId open, bool deletePending);

    ValueTask<bool> IsDeletePendingAsync(FileKey file);

    /// <summary>
    /// May this open rename its file? Other opens must share delete (Windows). A leased open first waits until the other
    /// leases have given up handle caching.
    /// </summary>
    ValueTask<NtStatus> CheckRenameAsync(FileKey file, OpenId open);

    /// <summary>May the file be replaced/deleted by someone without an open on it (rename target)?</summary>
    ValueTask<NtStatus> CheckReplaceAsync(FileKey file);

    /// <summary>Would an open with this access and sharing conflict with the file's current opens? (No open is recorded.)</summary>
    ValueTask<NtStatus> ProbeShareAccessAsync(FileKey file, AccessMask access, ShareAccess share);

    /// <summary>The caller removed a delete-pending file after the last close.</summary>
    ValueTask FileDeletedAsync(FileKey file);

    /// <summary>
    /// Takes all the ranges or none. When <paramref name="failImmediately"/> is false and a range conflicts, the request
    /// waits in the file actor until it can be granted, or <paramref name="ct"/> cancels it (STATUS_CANCELLED), or the
    /// open closes (STATUS_RANGE_NOT_LOCKED). A conflict otherwise gives STATUS_LOCK_NOT_GRANTED.
    /// </summary>
    /// <param name="sequence">
    /// SMB 3.x lock replay detection on durable opens (MS-SMB2 3.3.5.14): a request whose bucket already holds its
    /// sequence number succeeded before and succeeds again without effect.
    /// </param>
    ValueTask<NtStatus> LockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, bool failImmediately, CancellationToken ct,
        LockSequence? sequence = null);

    /// <summary>Releases exactly these ranges held by the open (STATUS_RANGE_NOT_LOCKED if one is not held).</summary>
    ValueTask<NtStatus> UnlockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, LockSequence? sequence = null);

    /// <summary>May this open read or write the range? STATUS_FILE_LOCK_CONFLICT when another lock forbids it.</summary>
    ValueTask<NtStatus> CheckIoAsync(FileKey file, OpenId open, ulong offset, ulong length, bool write);

    /// <summary>The file's size changes through this open (end of file, allocation): other opens lose read caching.</summary>
    ValueTask BreakReadCachingAsync(FileKey file, OpenId open);

    /// <summary>OPLOCK_BREAK acknowledgement of an oplock: the level the client kept.</summary>
    ValueTask<(NtStatus Status, byte Level)> AckOplockAsync(FileKey file, OpenId open, byte level);

    /// <summary>OPLOCK_BREAK acknowledgement of a lease (the file is found through the lease).</summary>
    ValueTask<NtStatus> AckLeaseAsync(LeaseId lease, LeaseState state);

    int ActiveFileCount { get; }

    /// <summary>
    /// The home shard this node proposes for a file (<see cref="FileHome"/>): one of its own for a file its client just
    /// created, the id's hash for any other. Null: files are not placed (one node owns every shard).
    /// </summary>
    int? ProposeHome(FileKey file, bool created);

    // ---- Durable and persistent opens ----

    /// <summary>
    /// The open's connection is gone. True: the open is durable and stays, disconnected, until reclaimed or expired
    /// (its VFS handle may be closed). False: the caller closes it as usual.
    /// </summary>
    ValueTask<bool> DisconnectAsync(FileKey file, OpenId open, long position);

    /// <summary>
    /// Re-attaches a disconnected durable open to a new connection (DHnC / DH2C), after validating the claim. The open
    /// is found by its id alone (its shard is in it): the caller need not know the file.
    /// </summary>
    ValueTask<ReconnectResult> ReconnectAsync(ReconnectRequest request);

    /// <summary>The open was renamed: a later reopen uses the new path.</summary>
    ValueTask UpdateDurablePathAsync(FileKey file, OpenId open, string path);

    /// <summary>The durable open's stored state, or null.</summary>
    ValueTask<Persistence.DurableOpenRecord?> GetDurableAsync(FileKey file, OpenId open);

    /// <summary>Durable and persistent opens kept without a connection (metrics).</summary>
    int DisconnectedOpenCount { get; }

    /// <summary>Replay detection: the open a client created with this CreateGuid (DH2Q).</summary>
    ValueTask<OpenLocation?> FindByCreateGuidAsync(Guid clientGuid, Guid createGuid);

    /// <summary>The open that carries this App Instance Id (MS-SMB2 3.3.5.9.13).</summary>
    ValueTask<OpenLocation?> FindByAppInstanceAsync(Guid appInstanceId);

    /// <summary>Called (from a file actor) when the state tier closed a disconnected open by itself.</summary>
    Action<FileKey, ExpiredOpen>? OpenExpired { get; set; }

    /// <summary>After a restart: loads this node's durable opens from the store, disconnected. Returns how many.</summary>
    Task<int> RestoreAsync(CancellationToken ct);
}
