using Microsoft.Extensions.Logging;

namespace CaStorage.Admin;

/// <summary>Source-generated log messages of the admin API (event ids 5000–5999). Every mutating call is logged.</summary>
internal static partial class AdminLog
{
    [LoggerMessage(5010, LogLevel.Information, "Admin {Peer}: CloseOpen {OpenId} (session {SessionId:x}, share {Share}, path {Path})")]
    public static partial void OpenClosed(ILogger logger, string peer, string openId, ulong sessionId, string share, string path);

    [LoggerMessage(5011, LogLevel.Information, "Admin {Peer}: Logoff session {SessionId:x} (user {User}, {Opens} opens closed)")]
    public static partial void SessionLoggedOff(ILogger logger, string peer, ulong sessionId, string user, int opens);

    [LoggerMessage(5012, LogLevel.Information, "Admin {Peer}: Drain node {Node} -> draining={Draining}")]
    public static partial void Drain(ILogger logger, string peer, string node, bool draining);

    [LoggerMessage(5013, LogLevel.Information, "Admin {Peer}: {Operation} share {Share} (path {Path}, vfs [{Vfs}])")]
    public static partial void ShareChanged(ILogger logger, string peer, string operation, string share, string path, string vfs);

    [LoggerMessage(5014, LogLevel.Information, "Admin {Peer}: {Method} refused: {Status} {Message}")]
    public static partial void MutationFailed(ILogger logger, string peer, string method, string status, string message);
}
