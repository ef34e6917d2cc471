using System.Collections.Concurrent;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace CaStorage.Rpc.Services;

/// <summary>
/// grpc.health.v1.Health (Check only; Watch answers UNIMPLEMENTED, which the protocol allows). The empty service
/// name is the server as a whole: Kubernetes gRPC probes ask for it.
/// </summary>
public sealed class HealthService
{
    private readonly ConcurrentDictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);

    public HealthService() => _statuses[""] = ServingStatus.Serving;

    public void SetStatus(string service, ServingStatus status) => _statuses[service] = status;

    public ServingStatus GetStatus(string service) => _statuses.TryGetValue(service, out var s) ? s : ServingStatus.ServiceUnknown;

    /// <summary>grpc.health.v1.Health/Check (clients use it to call).</summary>
    public static MethodDescriptor CheckMethod { get; } = HealthReflection.Descriptor.Services.Single(s => s.Name == "Health").FindMethodByName("Check");

    public void MapTo(GrpcMethodTable table)
    {
        table.MapUnary<HealthCheckRequest, HealthCheckResponse>(CheckMethod, (request, _) =>
        {
            // The protocol: a service the server does not know is NOT_FOUND.
            if (!_statuses.TryGetValue(request.Service, out var status))
                throw new RpcException(RpcStatusCode.NotFound, $"unknown service '{request.Service}'");
            return ValueTask.FromResult(new HealthCheckResponse { Status = status });
        });
    }
}
