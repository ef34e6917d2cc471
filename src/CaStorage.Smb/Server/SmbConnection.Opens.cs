using CaStorage.Core;
using CaStorage.State.Notify;

namespace CaStorage.Smb.Server;

internal sealed partial class SmbConnection
{
    /// <summary>
    /// Closes an open: the state tier decides whether the file is now to be deleted (delete-on-close / pending delete),
    /// then the VFS handle is released and, if so, the file removed. Returns whether the file was deleted.
    /// </summary>
    /// <param name="preserveDurable">
    /// The connection is gone (not a CLOSE or LOGOFF): a durable open stays in the state tier, disconnected, for its
    /// client to reclaim (MS-SMB2 3.3.7.1); only the VFS handle is released here.
    /// </param>
    internal async Task<bool> CloseOpenAsync(SmbOpen open, bool preserveDurable = false)
    {
        if (Interlocked.Exchange(ref open.Closed, 1) != 0) return false;
        try
        {
            return await CloseOrDisconnectAsync(open, preserveDurable).ConfigureAwait(false);
        }
        finally
        {
            // Only now is it gone from the node's open table: a reconnect that finds it there waits for Released.
            Server.UntrackOpen(open);
            open.Released.TrySetResult();
        }
    }

    private async Task<bool> CloseOrDisconnectAsync(SmbOpen open, bool preserveDurable)
    {
        open.Session.RemoveOpen(open);
        if (open.ResumeKey != 0) Server.UnregisterResumeKey(open.ResumeKey);
        // A pending CHANGE_NOTIFY on this handle completes with STATUS_NOTIFY_CLEANUP.
        open.Watch?.Dispose();
        var ops = open.Tree.Vfs.Ops;
        if (preserveDurable && open.Durable is not null
            && await Server.FileState.DisconnectAsync(open.Key, open.Id, open.Position).ConfigureAwait(false))
        {
            await ops.CloseAsync(open.File).ConfigureAwait(false);
            return false;
        }
        var outcome = await Server.FileState.CloseAsync(open.Key, open.Id).ConfigureAwait(false);
        await ops.CloseAsync(open.File).ConfigureAwait(false);
        if (!outcome.DeleteNow)
        {
            // Delete-on-close of a directory still open elsewhere leaves it delete-pending: its watches hear of it.
            if (open.DeleteOnClose && open.IsDirectory) Server.Notify.DirectoryDeletePending(open.Tree.Share.Name, open.File.Path);
            // The last-write time is settled at close: watches see one change for the writes (Samba, Windows).
            if (open.Written) Server.Notify.Report(open.Tree.Share.Name, open.File.Path, NotifyAction.Modified, NotifyFilter.LastWrite | NotifyFilter.Size);
            return false;
        }
        try
        {
            var st = await ops.UnlinkAsync(open.Tree.Vfs, open.File.Path, open.IsDirectory, CancellationToken.None).ConfigureAwait(false);
            if (st == NtStatus.Success)
                Server.Notify.Report(open.Tree.Share.Name, open.File.Path, NotifyAction.Removed, open.IsDirectory ? NotifyFilter.DirName : NotifyFilter.FileName);
            return st == NtStatus.Success;
        }
        finally
        {
            await Server.FileState.FileDeletedAsync(open.Key).ConfigureAwait(false);
        }
    }
}
