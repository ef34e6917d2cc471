using System.Collections.Concurrent;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server;

/// <summary>
/// Asynchronous requests (MS-SMB2 3.3.4.2): a request that must wait (blocking lock, change notify, a create behind a
/// lease break) is answered STATUS_PENDING with an AsyncId at once, and completes later with its own response.
/// CANCEL finds it by AsyncId or MessageId; connection teardown cancels everything still pending.
/// </summary>
internal sealed partial class SmbConnection
{
    private readonly ConcurrentDictionary<ulong, AsyncOperation> _async = new();
    private long _nextAsyncId;

    internal int PendingAsyncCount => _async.Count;

    // CANCELs that found no pending operation by MessageId: frames run concurrently, so a CANCEL can overtake its
    // request while that still awaits something (a store commit, peers hearing of a new watch) before going async.
    // MessageIds are never reused on a connection, so a stale entry matches nothing; the set is bounded.
    private readonly ConcurrentDictionary<ulong, byte> _earlyCancels = new();
    private const int MaxEarlyCancels = 64;

    private AsyncOperation StartAsync(SmbRequest req, AsyncWork work)
    {
        var id = (ulong)Interlocked.Increment(ref _nextAsyncId);
        var op = new AsyncOperation(this, id, req.Header.MessageId, req.Session, req.Tree, work, _closed.Token);
        _async[id] = op;
        // Published first, then checked: a CANCEL records itself first, then looks for the operation; one sees the other.
        if (!_earlyCancels.IsEmpty && _earlyCancels.TryRemove(op.MessageId, out _)) op.Cancel();
        return op;
    }

    /// <summary>MS-SMB2 3.3.5.16: cancel the pending request named by AsyncId, or by MessageId (also before it went async).</summary>
    private void HandleCancel(SmbRequest req)
    {
        var h = req.Header;
        if (!h.IsAsync)
        {
            if (_earlyCancels.Count >= MaxEarlyCancels) _earlyCancels.Clear();
            _earlyCancels[h.MessageId] = 0;
        }
        foreach (var op in _async.Values)
        {
            if (h.IsAsync ? op.AsyncId == h.AsyncId : op.MessageId == h.MessageId)
            {
                if (!h.IsAsync) _earlyCancels.TryRemove(h.MessageId, out _);
                op.Cancel();
                return;
            }
        }
    }

    /// <summary>Cancels the pending operations of a session or tree (logoff, tree disconnect) or all (teardown).</summary>
    internal void CancelPending(Func<AsyncOperation, bool> match)
    {
        foreach (var op in _async.Values)
            if (match(op)) op.Cancel();
    }

    internal sealed class AsyncOperation
    {
        private readonly SmbConnection _connection;
        private readonly AsyncWork _work;
        private readonly CancellationTokenSource _cts;

        public AsyncOperation(SmbConnection connection, ulong asyncId, ulong messageId, SmbSession? session, SmbTreeConnect? tree,
            AsyncWork work, CancellationToken connectionClosed)
        {
            _connection = connection;
            AsyncId = asyncId;
            MessageId = messageId;
            Session = session;
            Tree = tree;
            _work = work;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(connectionClosed);
        }

        public ulong AsyncId { get; }
        public ulong MessageId { get; }
        public SmbSession? Session { get; }
        public SmbTreeConnect? Tree { get; }

        public void Cancel()
        {
            try { _cts.Cancel(); } catch (ObjectDisposedException) { }
        }

        /// <summary>Runs the work after the interim response is queued; sends the final response.</summary>
        /// <remarks>The final response is protected like the interim one: encrypted under the same session, or signed.</remarks>
        public void Start(SmbHeader interimHeader, SmbSession? signWith, SmbSession? encryptWith) => _ = RunAsync(interimHeader, signWith, encryptWith);

        private async Task RunAsync(SmbHeader h, SmbSession? signWith, SmbSession? encryptWith)
        {
            var output = new ResponseBuffer(512);
            try
            {
                output.Reserve(4);
                output.AlignmentOrigin = 4;
                var start = output.Length;
                output.Reserve(SmbHeader.Size);
                NtStatus status;
                try
                {
                    status = await _work(output, _cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    output.SetLength(start + SmbHeader.Size);
                    status = NtStatus.Cancelled;
                }
                catch (Exception ex)
                {
                    SmbLog.HandlerFault(_connection.Log, _connection.Id, h.SessionId, h.TreeId, h.MessageId, h.Command.ToString(), ex);
                    output.SetLength(start + SmbHeader.Size);
                    status = NtStatus.InternalError;
                }
                if (_connection._closed.IsCancellationRequested) return;
                if (status != NtStatus.Success && output.Length == start + SmbHeader.Size)
                {
                    // ERROR body (MS-SMB2 2.2.2).
                    output.U16(9);
                    output.U16(0);
                    output.U32(0);
                    output.U8(0);
                }
                var rh = h;
                rh.Flags = (h.Flags & ~SmbFlags.RelatedOperations) | SmbFlags.AsyncCommand | SmbFlags.ServerToRedir;
                rh.AsyncId = AsyncId;
                rh.Credits = 0; // credits were granted with the interim response
                rh.NextCommand = 0;
                rh.Write(output.Array.AsSpan(start, SmbHeader.Size), status);
                if (encryptWith is not null)
                {
                    _connection.SendEncrypted(output, encryptWith, [start]);
                    return;
                }
                signWith?.Sign(_connection, output.Array.AsSpan(start, output.Length - start));
                _connection.Send(output);
            }
            finally
            {
                _connection._async.TryRemove(AsyncId, out _);
                _cts.Dispose();
                output.Dispose();
            }
        }
    }
}
