using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace CaStorage.Rpc;

public delegate ValueTask<TResponse> UnaryHandler<in TRequest, TResponse>(TRequest request, RpcCallContext context);

public delegate Task ServerStreamingHandler<in TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responses,
    RpcCallContext context);

public delegate Task DuplexStreamingHandler<in TRequest, TResponse>(IAsyncEnumerable<TRequest> requests,
    IServerStreamWriter<TResponse> responses, RpcCallContext context);

/// <summary>
/// The methods a gRPC endpoint serves, keyed by their HTTP/2 path "/package.Service/Method". Methods are bound to the
/// descriptors that protoc generated (Google.Protobuf), so request and response types are checked once at startup,
/// and the descriptors of every service mapped here are what server reflection returns.
/// </summary>
public sealed class GrpcMethodTable
{
    private readonly Dictionary<string, GrpcMethod> _methods = new(StringComparer.Ordinal);
    private readonly List<ServiceDescriptor> _services = [];

    /// <summary>Services with at least one mapped method, in mapping order.</summary>
    public IReadOnlyList<ServiceDescriptor> Services => _services;

    public IEnumerable<string> Paths => _methods.Keys;

    public GrpcMethodTable MapUnary<TRequest, TResponse>(MethodDescriptor method, UnaryHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        if (method.IsClientStreaming || method.IsServerStreaming)
            throw new ArgumentException($"{method.FullName} is a streaming method; map it with MapServerStreaming or MapDuplexStreaming", nameof(method));
        var parser = ParserOf<TRequest, TResponse>(method);
        return Add(method, new UnaryMethod<TRequest, TResponse>(parser, handler));
    }

    /// <summary>Maps a server streaming method (one request, responses as the handler writes them).</summary>
    public GrpcMethodTable MapServerStreaming<TRequest, TResponse>(MethodDescriptor method, ServerStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        if (method.IsClientStreaming || !method.IsServerStreaming)
            throw new ArgumentException($"{method.FullName} is not server streaming", nameof(method));
        var parser = ParserOf<TRequest, TResponse>(method);
        return Add(method, new ServerStreamingMethod<TRequest, TResponse>(parser, handler));
    }

    /// <summary>Maps a bidirectional streaming method (requests and responses interleave on one HTTP/2 stream).</summary>
    public GrpcMethodTable MapDuplexStreaming<TRequest, TResponse>(MethodDescriptor method, DuplexStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        if (!method.IsClientStreaming || !method.IsServerStreaming)
            throw new ArgumentException($"{method.FullName} is not bidirectional streaming", nameof(method));
        var parser = ParserOf<TRequest, TResponse>(method);
        return Add(method, new DuplexMethod<TRequest, TResponse>(parser, handler));
    }

    /// <summary>
    /// Serves castorage.rpc.v1.Multiplex/Exchange: the unary methods of this table (mapped before or after) can then
    /// also be called as frames of one long-lived stream (<see cref="GrpcClient.MultiplexedUnaryAsync{TRequest,TResponse}"/>).
    /// </summary>
    public GrpcMethodTable MapMultiplex(Microsoft.Extensions.Logging.ILogger log)
    {
        var method = V1.MultiplexReflection.Descriptor.Services[0].FindMethodByName("Exchange");
        return Add(method, new MultiplexMethod(this, log));
    }

    internal bool TryGet(string path, out GrpcMethod method) => _methods.TryGetValue(path, out method!);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MethodDescriptor, string> PathCache = new();

    /// <summary>"/package.Service/Method" (kept per descriptor: callers ask on every call).</summary>
    public static string PathOf(MethodDescriptor method) => PathCache.GetValue(method, static m => $"/{m.Service.FullName}/{m.Name}");

    private GrpcMethodTable Add(MethodDescriptor method, GrpcMethod m)
    {
        if (!_methods.TryAdd(PathOf(method), m)) throw new ArgumentException($"{method.FullName} is mapped twice", nameof(method));
        if (!_services.Contains(method.Service)) _services.Add(method.Service);
        return this;
    }

    private static MessageParser<TRequest> ParserOf<TRequest, TResponse>(MethodDescriptor method)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        if (method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
            throw new ArgumentException($"{method.FullName} takes {method.InputType.ClrType?.Name} and returns {method.OutputType.ClrType?.Name}", nameof(method));
        return (MessageParser<TRequest>)method.InputType.Parser;
    }
}
