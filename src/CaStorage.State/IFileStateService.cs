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

    /// <summary>May this open rename its file? Other opens must share delete (Windows).</summary>
    ValueTask<NtStatus> CheckRenameAsync(FileKey file, OpenId open);

    /// <summary>May the file be replaced/deleted by someone without an open on it (rename target)?</summary>
    ValueTask<NtStatus> CheckReplaceAsync(FileKey file);

    /// <summary>Would an open with this access and sharing conflict with the file's current opens? (No open is recorded.)</summary>
    ValueTask<NtStatus> ProbeShareAccessAsync(FileKey file, AccessMask access, ShareAccess share);

    /// <summary>The caller removed a delete-pending file after the last close.</summary>
    ValueTask FileDeletedAsync(FileKey file);

    int ActiveFileCount { get; }
}
