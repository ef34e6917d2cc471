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
    ValueTask<NtStatus> LockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, bool failImmediately, CancellationToken ct);

    /// <summary>Releases exactly these ranges held by the open (STATUS_RANGE_NOT_LOCKED if one is not held).</summary>
    ValueTask<NtStatus> UnlockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges);

    /// <summary>May this open read or write the range? STATUS_FILE_LOCK_CONFLICT when another lock forbids it.</summary>
    ValueTask<NtStatus> CheckIoAsync(FileKey file, OpenId open, ulong offset, ulong length, bool write);

    /// <summary>The file's size changes through this open (end of file, allocation): other opens lose read caching.</summary>
    ValueTask BreakReadCachingAsync(FileKey file, OpenId open);

    /// <summary>OPLOCK_BREAK acknowledgement of an oplock: the level the client kept.</summary>
    ValueTask<(NtStatus Status, byte Level)> AckOplockAsync(FileKey file, OpenId open, byte level);

    /// <summary>OPLOCK_BREAK acknowledgement of a lease (the file is found through the lease).</summary>
    ValueTask<NtStatus> AckLeaseAsync(LeaseId lease, LeaseState state);

    int ActiveFileCount { get; }
}
