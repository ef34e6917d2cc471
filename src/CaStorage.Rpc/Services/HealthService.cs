using System.Collections.Concurrent;
using CaStorage.Core.Threading;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace CaStorage.Rpc.Services;

/// <summary>
/// grpc.health.v1.Health: Check, and Watch (the current status at once, then each change until the client goes).
/// The empty service name is the server as a whole: Kubernetes gRPC probes ask for it.
/// </summary>
public sealed class HealthService
{
    private readonly ConcurrentDictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);

    private readonly ChangeSignal _changed = new();

    public HealthService() => _statuses[""] = ServingStatus.Serving;

    public void SetStatus(string service, ServingStatus status)
    {
        if (_statuses.TryGetValue(service, out var old) && old == status) return;
        _statuses[service] = status;
        _changed.Raise();
    }

    public ServingStatus GetStatus(string service) => _statuses.TryGetValue(service, out var s) ? s : ServingStatus.ServiceUnknown;

    private static readonly ServiceDescriptor Service = HealthReflection.Descriptor.Services.Single(s => s.Name == "Health");

    /// <summary>grpc.health.v1.Health/Check (clients use it to call).</summary>
    public static MethodDescriptor CheckMethod { get; } = Service.FindMethodByName("Check");

    /// <summary>grpc.health.v1.Health/Watch.</summary>
    public static MethodDescriptor WatchMethod { get; } = Service.FindMethodByName("Watch");

    public void MapTo(GrpcMethodTable table)
    {
        table.MapUnary<HealthCheckRequest, HealthCheckResponse>(CheckMethod, (request, _) =>
        {
            // The protocol: a service the server does not know is NOT_FOUND.
            if (!_statuses.TryGetValue(request.Service, out var status))
                throw new RpcException(RpcStatusCode.NotFound, $"unknown service '{request.Service}'");
            return ValueTask.FromResult(new HealthCheckResponse { Status = status });
        });
        table.MapServerStreaming<HealthCheckRequest, HealthCheckResponse>(WatchMethod, WatchAsync);
    }

    /// <summary>
    /// The protocol: an unknown service is SERVICE_UNKNOWN (not an error, it may appear later); a message goes out
    /// whenever the status differs from the last one sent. The call ends when the client cancels it or its deadline passes.
    /// </summary>
    private async Task WatchAsync(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, RpcCallContext call)
    {
        ServingStatus? sent = null;
        while (true)
        {
            var changed = _changed.Next;
            var status = GetStatus(request.Service);
            if (status != sent)
            {
                await responses.WriteAsync(new HealthCheckResponse { Status = status }).ConfigureAwait(false);
                sent = status;
            }
            // Cancellation (the client left, or its deadline) ends the call; the server maps it.
            await changed.WaitAsync(call.CancellationToken).ConfigureAwait(false);
        }
    }
}
