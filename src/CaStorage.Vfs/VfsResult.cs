using CaStorage.Core;

namespace CaStorage.Vfs;

/// <summary>Expected failures are values: a status and, on success, a value.</summary>
public readonly record struct VfsResult<T>(NtStatus Status, T? Value)
{
    public bool IsSuccess => Status == NtStatus.Success;
    public static VfsResult<T> Ok(T value) => new(NtStatus.Success, value);
    public static VfsResult<T> Fail(NtStatus status) => new(status, default);
    public static implicit operator VfsResult<T>(NtStatus status) => new(status, default);
}
