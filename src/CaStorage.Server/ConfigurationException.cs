namespace CaStorage.Server;

/// <summary>A configuration the node cannot start with; reported as one clear line.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
