using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1Alpha;

namespace CaStorage.Rpc.Services;

/// <summary>
/// grpc.reflection.v1alpha.ServerReflection over the services mapped in a <see cref="GrpcMethodTable"/>: it lists
/// them and returns the FileDescriptorProtos protoc compiled into the generated classes (Google.Protobuf keeps each
/// file's serialized descriptor), the asked file first and then its transitive dependencies, as grpc's C++
/// reflection does. Map it after every other service, so it knows them all (it lists itself too).
/// </summary>
public sealed class ReflectionService
{
    private readonly GrpcMethodTable _table;
    private Dictionary<string, FileDescriptor>? _files;
    private Dictionary<string, FileDescriptor>? _symbols;

    public ReflectionService(GrpcMethodTable table) => _table = table;

    /// <summary>grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo.</summary>
    public static MethodDescriptor InfoMethod { get; } =
        ReflectionReflection.Descriptor.Services.Single(s => s.Name == "ServerReflection").FindMethodByName("ServerReflectionInfo");

    public void MapTo(GrpcMethodTable table)
    {
        table.MapDuplexStreaming<ServerReflectionRequest, ServerReflectionResponse>(InfoMethod, async (requests, responses, context) =>
        {
            await foreach (var request in requests.WithCancellation(context.CancellationToken).ConfigureAwait(false))
                await responses.WriteAsync(Answer(request)).ConfigureAwait(false);
        });
    }

    internal ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        EnsureIndex();
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var s in _table.Services) list.Service.Add(new ServiceResponse { Name = s.FullName });
                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                if (_files!.TryGetValue(request.FileByFilename, out var file)) response.FileDescriptorResponse = WithDependencies(file);
                else response.ErrorResponse = NotFound($"file '{request.FileByFilename}' not found");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                if (_symbols!.TryGetValue(request.FileContainingSymbol, out var owner)) response.FileDescriptorResponse = WithDependencies(owner);
                else response.ErrorResponse = NotFound($"symbol '{request.FileContainingSymbol}' not found");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                // No extensions are defined by these files: a known type has none, an unknown one is NOT_FOUND.
                if (_symbols!.ContainsKey(request.AllExtensionNumbersOfType))
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse { BaseTypeName = request.AllExtensionNumbersOfType };
                else response.ErrorResponse = NotFound($"type '{request.AllExtensionNumbersOfType}' not found");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                response.ErrorResponse = NotFound("no extensions are registered");
                break;
            default:
                response.ErrorResponse = new ErrorResponse { ErrorCode = (int)RpcStatusCode.Unimplemented, ErrorMessage = "unknown reflection request" };
                break;
        }
        return response;
    }

    private static ErrorResponse NotFound(string message) => new() { ErrorCode = (int)RpcStatusCode.NotFound, ErrorMessage = message };

    private static FileDescriptorResponse WithDependencies(FileDescriptor file)
    {
        var response = new FileDescriptorResponse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<FileDescriptor>();
        pending.Enqueue(file);
        while (pending.TryDequeue(out var f))
        {
            if (!seen.Add(f.Name)) continue;
            response.FileDescriptorProto.Add(f.SerializedData);
            foreach (var d in f.Dependencies) pending.Enqueue(d);
        }
        return response;
    }

    /// <summary>Built on first use, when every service has been mapped.</summary>
    private void EnsureIndex()
    {
        if (_files is not null) return;
        var files = new Dictionary<string, FileDescriptor>(StringComparer.Ordinal);
        var symbols = new Dictionary<string, FileDescriptor>(StringComparer.Ordinal);
        var pending = new Queue<FileDescriptor>(_table.Services.Select(s => s.File));
        while (pending.TryDequeue(out var f))
        {
            if (!files.TryAdd(f.Name, f)) continue;
            foreach (var s in f.Services)
            {
                symbols[s.FullName] = f;
                foreach (var m in s.Methods) symbols[m.FullName] = f;
            }
            foreach (var m in f.MessageTypes) AddMessage(m, f, symbols);
            foreach (var e in f.EnumTypes) symbols[e.FullName] = f;
            foreach (var d in f.Dependencies) pending.Enqueue(d);
        }
        _symbols = symbols;
        _files = files;
    }

    private static void AddMessage(MessageDescriptor m, FileDescriptor file, Dictionary<string, FileDescriptor> symbols)
    {
        symbols[m.FullName] = file;
        foreach (var n in m.NestedTypes) AddMessage(n, file, symbols);
        foreach (var e in m.EnumTypes) symbols[e.FullName] = file;
    }
}
