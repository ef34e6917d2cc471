namespace CaStorage.Rpc;

/// <summary>
/// A call that ends with a non-OK status. Handlers throw it to answer with that status and message; the client
/// throws it when the server (or the transport) ended the call so.
/// </summary>
public sealed class RpcException(RpcStatusCode status, string message, Exception? inner = null) : Exception(message, inner)
{
    public RpcStatusCode Status { get; } = status;

    /// <summary>"NOT_FOUND" etc., as grpc tools print the code.</summary>
    public string StatusName => GrpcStatusText.NameOf(Status);

    public override string ToString() => $"{StatusName}: {Message}";
}
