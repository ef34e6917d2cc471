using CaStorage.Server;
using CaStorage.Server.Configuration;

var cli = CommandLine.Parse(args, out var error);
if (error is not null)
{
    Console.Error.WriteLine($"castorage: {error}");
    return 2;
}
if (cli.Help)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}
try
{
    await using var host = await NodeHost.CreateAsync(cli);
    await host.RunAsync();
    return 0;
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine($"castorage: configuration error: {ex.Message}");
    return 2;
}
