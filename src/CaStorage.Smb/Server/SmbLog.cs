using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Server;

/// <summary>Source-generated log messages of the wire layer (event ids 1000–1999).</summary>
internal static partial class SmbLog
{
    [LoggerMessage(1000, LogLevel.Debug, "Connection {ConnectionId} from {Remote} accepted")]
    public static partial void ConnectionAccepted(ILogger logger, string connectionId, string? remote);

    [LoggerMessage(1001, LogLevel.Information, "Connection {ConnectionId} dropped: {Reason}")]
    public static partial void ConnectionDropped(ILogger logger, string connectionId, string reason);

    [LoggerMessage(1006, LogLevel.Warning, "Accepting a connection failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string reason);

    [LoggerMessage(1005, LogLevel.Information, "Connection {ConnectionId} from {Remote} refused: the node is draining")]
    public static partial void ConnectionRefusedDraining(ILogger logger, string connectionId, string? remote);

    [LoggerMessage(1002, LogLevel.Error, "Connection {ConnectionId} failed")]
    public static partial void ConnectionFault(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1003, LogLevel.Error, "Connection {ConnectionId} session {SessionId:x} tree {TreeId} message {MessageId}: {Command} handler failed")]
    public static partial void HandlerFault(ILogger logger, string connectionId, ulong sessionId, uint treeId, ulong messageId, string command, Exception exception);

    [LoggerMessage(1004, LogLevel.Debug, "Connection {ConnectionId} session {SessionId:x} tree {TreeId} message {MessageId}: {Command} -> {Status}")]
    public static partial void RequestCompleted(ILogger logger, string connectionId, ulong sessionId, uint treeId, ulong messageId, string command, string status);

    [LoggerMessage(1010, LogLevel.Information, "Connection {ConnectionId} session {SessionId:x}: user {Domain}/{User} authenticated (guest={Guest}, anonymous={Anonymous})")]
    public static partial void SessionAuthenticated(ILogger logger, string connectionId, ulong sessionId, string domain, string user, bool guest, bool anonymous);

    [LoggerMessage(1011, LogLevel.Warning, "Connection {ConnectionId} session {SessionId:x}: authentication failed with {Status}")]
    public static partial void SessionAuthFailed(ILogger logger, string connectionId, ulong sessionId, string status);

    [LoggerMessage(1012, LogLevel.Information, "Connection {ConnectionId} session {SessionId:x}: bound as channel {ChannelCount}")]
    public static partial void ChannelBound(ILogger logger, string connectionId, ulong sessionId, int channelCount);

    [LoggerMessage(1013, LogLevel.Information, "Connection {ConnectionId} session {SessionId:x}: binding refused with {Status}")]
    public static partial void BindingRefused(ILogger logger, string connectionId, ulong sessionId, string status);

    [LoggerMessage(1020, LogLevel.Debug, "Connection {ConnectionId} session {SessionId:x} tree {TreeId}: connected to {Share}")]
    public static partial void TreeConnected(ILogger logger, string connectionId, ulong sessionId, uint treeId, string share);
}
