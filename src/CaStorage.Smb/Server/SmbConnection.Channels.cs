using System.Collections.Concurrent;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Server.Handlers;

namespace CaStorage.Smb.Server;

/// <summary>
/// Multichannel on the connection (MS-SMB2 3.3.5.5.2): finding the session a binding SESSION_SETUP names, and the
/// bindings in progress here (Connection.PreauthSessionTable: their own authentication and 3.1.1 preauth hash).
/// A binding that completes moves its channel into the session and the session into this connection's table.
/// </summary>
internal sealed partial class SmbConnection
{
    private readonly ConcurrentDictionary<ulong, SmbChannel> _pendingBindings = new();

    /// <summary>
    /// A SESSION_SETUP with SMB2_SESSION_FLAG_BINDING and a SessionId not in this connection's table looks the
    /// session up in GlobalSessionTable (MS-SMB2 3.3.5.5). Only when multichannel is enabled: otherwise such a
    /// request fails as any unknown session does.
    /// </summary>
    private bool TryGetBindingSession(SmbRequest req, out SmbSession session)
    {
        session = null!;
        var h = req.Header;
        if (!Server.Settings.MultiChannel || h.Command != SmbCommand.SessionSetup || h.SessionId == 0) return false;
        if (!SmbReader.TryU8(req.Span, SmbHeader.Size + 2, out var flags) || (flags & SessionSetupHandler.FlagBinding) == 0) return false;
        return Server.TryGetSession(h.SessionId, out session);
    }

    /// <summary>The binding of <paramref name="session"/> in progress on this connection, started on first use.</summary>
    internal SmbChannel GetOrAddPendingBinding(SmbSession session) => _pendingBindings.GetOrAdd(session.Id, _ => new SmbChannel(this));

    internal void RemovePendingBinding(ulong sessionId) => _pendingBindings.TryRemove(sessionId, out _);
}
