namespace CaStorage.Smb.Server;

/// <summary>Operator actions (the admin API) that must not interleave with this connection's requests.</summary>
internal sealed partial class SmbConnection
{
    /// <summary>
    /// Runs <paramref name="action"/> while no request frame of this connection is being processed, as a client's
    /// LOGOFF runs (it is serialized after the frames in flight): a CREATE finishing meanwhile cannot add an open to
    /// a session the action just ended. New frames wait until the action is done. Requests that went async
    /// (STATUS_PENDING) are not frames in flight; a logoff cancels them.
    /// </summary>
    internal async Task<T> BetweenRequestsAsync<T>(Func<Task<T>> action)
    {
        var held = 0;
        try
        {
            for (; held < MaxConcurrentFrames; held++) await _inflight.WaitAsync().ConfigureAwait(false);
            return await action().ConfigureAwait(false);
        }
        finally
        {
            if (held > 0) _inflight.Release(held);
        }
    }
}
