using CaStorage.Cluster;
using CaStorage.Smb.Server;
using CaStorage.State;
using CaStorage.State.Notify;

namespace CaStorage.Server;

/// <summary>A cluster node's SMB layer as its peers reach it: sessions ended, opens closed, changes for its watches.</summary>
internal sealed class SmbNodeEvents(SmbServerContext server) : INodeEvents
{
    public async Task EndSessionAsync(ulong sessionId, string user)
    {
        if (server.HoldsSession(sessionId, user)) await server.LogoffAsync(sessionId).ConfigureAwait(false);
    }

    public async Task<bool> CloseOpenAsync(OpenId open) => await server.CloseOpenAsync(open).ConfigureAwait(false) is not null;

    public void Changed(string share, string path, int action, int filter) => server.Notify.Deliver(share, path, (NotifyAction)action, (NotifyFilter)filter);

    public void DirectoryDeletePending(string share, string directory) => server.Notify.DeliverDeletePending(share, directory);
}
