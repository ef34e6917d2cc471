using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CaStorage.Smb.Server;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Transport;

/// <summary>
/// SMB over Direct TCP: listens on the configured endpoints and runs one <see cref="SmbConnection"/> per accepted
/// socket. Started and stopped with the host; stopping drops every client (they reconnect, to another node in a
/// cluster, and reclaim their durable handles).
/// </summary>
public sealed class SmbListener(SmbServerContext server, IReadOnlyList<IPEndPoint> endpoints) : IHostedService
{
    private readonly ILogger _log = server.LoggerFactory.CreateLogger("CaStorage.Smb.Connection");
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly ConcurrentDictionary<SmbConnection, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();

    // Connection ids name connections in logs and in owner tags: unique within this process's life.
    private readonly string _idPrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private long _nextId;

    /// <summary>Binds every endpoint (a failure to bind stops the node from starting) and starts accepting.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var ep in endpoints)
        {
            var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // As Kestrel does: a restarted node rebinds at once while its old connections linger in TIME_WAIT.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(ep);
                socket.Listen(512);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                foreach (var s in _listeners) s.Dispose();
                throw new IOException($"cannot listen on {ep}: {ex.Message}", ex);
            }
            _listeners.Add(socket);
        }
        foreach (var socket in _listeners) _acceptLoops.Add(AcceptLoopAsync(socket));
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (_stopping.IsCancellationRequested) return;
                // A connection reset before it was accepted, or descriptors exhausted: go on accepting.
                SmbLog.AcceptFailed(_log, ex.Message);
                continue;
            }
            var id = $"{_idPrefix}{Interlocked.Increment(ref _nextId):x}";
            if (server.Draining)
            {
                // A draining node takes no new clients (admin Drain): the load balancer sends them to another node.
                SmbLog.ConnectionRefusedDraining(_log, id, socket.RemoteEndPoint?.ToString());
                socket.Dispose();
                continue;
            }
            socket.NoDelay = true;
            SmbLog.ConnectionAccepted(_log, id, socket.RemoteEndPoint?.ToString());
            var c = new SmbConnection(id, new SocketSmbTransport(socket), socket.LocalEndPoint, socket.RemoteEndPoint, server);
            // Tracked before it runs, so that its end always finds (and removes) its entry.
            var tracked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[c] = RunAsync(c, tracked.Task);
            tracked.SetResult();
        }
    }

    private async Task RunAsync(SmbConnection c, Task tracked)
    {
        await tracked.ConfigureAwait(false); // and the accept loop goes on at once
        try
        {
            await c.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(c, out _);
        }
    }

    /// <summary>Stops accepting and drops every connection, waiting for them to end (bounded by the host's token).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var s in _listeners) s.Dispose();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        foreach (var c in _connections.Keys) c.Abort();
        try
        {
            await Task.WhenAll(_connections.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout passed; the process ends anyway.
        }
    }
}
