namespace CaStorage.Vfs;

/// <summary>A share's VFS configuration is invalid: unknown module, unknown or malformed option, bad stack order.</summary>
public sealed class VfsConfigurationException : Exception
{
    public VfsConfigurationException(string message) : base(message) { }
    public VfsConfigurationException(string message, Exception inner) : base(message, inner) { }
}
