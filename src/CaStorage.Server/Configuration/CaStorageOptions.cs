namespace CaStorage.Server.Configuration;

/// <summary>
/// The one configuration model of a node (section "CaStorage" of the JSON config, overridable by environment variables
/// in the usual .NET form, e.g. CaStorage__Signing__Required=true). Command-line flags fill the same model.
/// </summary>
public sealed class CaStorageOptions
{
    public const string Section = "CaStorage";

    /// <summary>SMB listen addresses, "ADDR:PORT" (default 0.0.0.0:445).</summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>State and the default share live here.</summary>
    public string DataDirectory { get; set; } = "./data";

    public List<ShareOptions> Shares { get; set; } = [];

    /// <summary>Users with their NT hashes (hex, 32 chars). Plaintext passwords are never stored.</summary>
    public List<UserOptions> Users { get; set; } = [];

    public SigningOptions Signing { get; set; } = new();

    /// <summary>
    /// SMB 3.x encryption, after Samba's "server smb encrypt": "Off" (no cipher negotiated), "Enabled" (default: a cipher
    /// is negotiated and used when the client asks or a share requires it), "Desired" (sessions of clients that can
    /// encrypt are asked to), "Required" (every session encrypts; clients that cannot are refused with ACCESS_DENIED).
    /// </summary>
    public string Encryption { get; set; } = "Enabled";

    /// <summary>
    /// SMB 3.x multichannel (default on): SMB2_GLOBAL_CAP_MULTI_CHANNEL is offered and a session may be bound to further
    /// connections of the same client (SMB2_SESSION_FLAG_BINDING).
    /// </summary>
    public bool MultiChannel { get; set; } = true;

    public bool AllowGuest { get; set; }
    /// <summary>Anonymous (null) sessions may log on, as with Samba's default; they can reach IPC$ only.</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>Fixed server GUID; when empty one is generated once and kept in the data directory.</summary>
    public string? ServerGuid { get; set; }

    public string NetBiosName { get; set; } = "CASTORAGE";

    /// <summary>
    /// SID of the local account domain, "S-1-5-21-a-b-c": users are this SID plus their RID. Default: derived from
    /// <see cref="NetBiosName"/>, so nodes configured alike agree. Changing it orphans stored security descriptors.
    /// </summary>
    public string? DomainSid { get; set; }
    public string Workgroup { get; set; } = "WORKGROUP";

    /// <summary>Lowest and highest dialect served ("2.0.2" … "3.1.1").</summary>
    public string MinDialect { get; set; } = "2.0.2";
    public string MaxDialect { get; set; } = "3.1.1";

    /// <summary>The admin API (gRPC) and metrics endpoints.</summary>
    public AdminOptions Admin { get; set; } = new();

    public ClusterOptions Cluster { get; set; } = new();
}

/// <summary>
/// The admin port: gRPC (castorage.admin.v1.Admin, health, reflection) over cleartext HTTP/2, and Prometheus metrics
/// over HTTP/1.1 on a second listener. Loopback by default; any other address needs <see cref="Token"/> or mutual TLS
/// (<see cref="Tls"/> with a client CA).
/// </summary>
public sealed class AdminOptions
{
    public const string DefaultListen = "127.0.0.1:4460";
    public const string DefaultMetricsListen = "127.0.0.1:4461";

    /// <summary>
    /// gRPC admin address "ADDR:PORT", or "off". Unset: 127.0.0.1:4460, skipped with a warning when that port is taken
    /// (several nodes on one machine); an address given explicitly must bind or the node does not start.
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>Metrics address "ADDR:PORT" (GET /metrics, GET /healthz) or "off". Unset: 127.0.0.1:4461, as for Listen.</summary>
    public string? MetricsListen { get; set; }

    /// <summary>
    /// Bearer token admin calls must carry ("authorization: Bearer TOKEN"; castorctl --token). Required when Listen
    /// is not a loopback address. Health checks never need it (Kubernetes gRPC probes cannot send one).
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Require the token on GET /metrics too (Prometheus: authorization.credentials). Default false.</summary>
    public bool MetricsRequireToken { get; set; }

    /// <summary>TLS on the gRPC listener (HTTP/2 over TLS); with <see cref="AdminTlsOptions.ClientCa"/>, mutual TLS.</summary>
    public AdminTlsOptions Tls { get; set; } = new();
}

/// <summary>
/// TLS of the admin gRPC listener, from PEM files (a Kubernetes TLS Secret mounts as tls.crt, tls.key and ca.crt).
/// Certificate set: the listener speaks TLS. ClientCa set too: every caller must present a certificate issued by one
/// of those CAs (mutual TLS), which authenticates callers as a token does.
/// </summary>
public sealed class AdminTlsOptions
{
    /// <summary>The server's certificate (PEM, chain included). Unset: cleartext HTTP/2.</summary>
    public string? Certificate { get; set; }

    /// <summary>Its private key (PEM); unset when it is in the certificate file.</summary>
    public string? Key { get; set; }

    /// <summary>CA certificates (PEM) whose client certificates are accepted; set, a client certificate is required.</summary>
    public string? ClientCa { get; set; }
}

/// <summary>Cluster membership and the shared state store.</summary>
public sealed class ClusterOptions
{
    /// <summary>This node's id in the state store, the admin API and logs (a StatefulSet pod name; default: the host name).</summary>
    public string? NodeId { get; set; }

    /// <summary>
    /// PostgreSQL connection string (Npgsql form, e.g. "Host=db;Username=castorage;Database=castorage"): durable and
    /// persistent handles live there, shared by every node. Empty: a single node with SQLite in the data directory.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Cluster RPC address "ADDR:PORT" (HTTP/2) for peers to reach this node's file actors. Set (with a
    /// ConnectionString), the node is a cluster member; unset, a ConnectionString only puts one node's state in PostgreSQL.</summary>
    public string? Listen { get; set; }

    /// <summary>"HOST:PORT" peers use to reach <see cref="Listen"/> when it is a wildcard (a pod IP, a compose service name).</summary>
    public string? Advertise { get; set; }

    /// <summary>Self-fencing deadline in milliseconds (must stay below PostgreSQL's dead-client detection; see ClusterNodeOptions).</summary>
    public int FenceDeadlineMs { get; set; } = 2000;
}

public sealed class ShareOptions
{
    public string Name { get; set; } = "";
    public string Path { get; set; } = "";
    /// <summary>VFS modules, first called first; the last must be opaque (default ["posix"]).</summary>
    public List<string> Vfs { get; set; } = [];
    /// <summary>Module options in Samba form: "recycle:repository": ".trash".</summary>
    public Dictionary<string, string> Options { get; set; } = new();
    public bool ReadOnly { get; set; }
    public bool ContinuouslyAvailable { get; set; }
    /// <summary>Require SMB 3.x encryption on this share (SMB2_SHAREFLAG_ENCRYPT_DATA); clients that cannot encrypt are refused.</summary>
    public bool Encrypt { get; set; }
}

public sealed class UserOptions
{
    public string Name { get; set; } = "";
    public string NtHash { get; set; } = "";
    /// <summary>RID of the user's SID (&gt;= 1000); default: a stable hash of the lower-case name.</summary>
    public uint? Rid { get; set; }
    /// <summary>Member of BUILTIN\Administrators: may give files to any owner.</summary>
    public bool Administrator { get; set; }
}

public sealed class SigningOptions
{
    public bool Required { get; set; }
}
