using CaStorage.Smb.Server;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Transport;

/// <summary>Kestrel connection handler for SMB over Direct TCP: one <see cref="SmbConnection"/> per socket.</summary>
public sealed class SmbConnectionHandler(SmbServerContext server) : ConnectionHandler
{
    private readonly ILogger _log = server.LoggerFactory.CreateLogger("CaStorage.Smb.Connection");

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        if (server.Draining)
        {
            // A draining node takes no new clients (admin Drain): the load balancer sends them to another node.
            SmbLog.ConnectionRefusedDraining(_log, connection.ConnectionId, connection.RemoteEndPoint?.ToString());
            connection.Abort();
            return;
        }
        SmbLog.ConnectionAccepted(_log, connection.ConnectionId, connection.RemoteEndPoint?.ToString());
        var c = new SmbConnection(connection.ConnectionId, connection.Transport, connection.LocalEndPoint, connection.RemoteEndPoint, server);
        await c.RunAsync().ConfigureAwait(false);
    }
}
