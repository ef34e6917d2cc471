using Google.Protobuf;
using Spectre.Console;

namespace CaStorage.Cli;

internal enum OutputFormat { Table, Json }

/// <summary>Tables for people (Spectre.Console), JSON for scripts (protobuf's canonical JSON mapping, defaults included).</summary>
internal sealed class Output(OutputFormat format, IAnsiConsole console)
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    public OutputFormat Format => format;

    /// <summary>Writes <paramref name="response"/> as JSON, or as a table of <paramref name="rows"/>.</summary>
    public void Write<T>(IMessage response, IEnumerable<T> rows, params (string Header, Func<T, string> Cell)[] columns)
    {
        if (format == OutputFormat.Json)
        {
            console.Profile.Out.Writer.WriteLine(Json.Format(response));
            return;
        }
        var table = new Table().Border(TableBorder.Simple);
        foreach (var (header, _) in columns) table.AddColumn(new TableColumn(Markup.Escape(header)).NoWrap());
        var n = 0;
        foreach (var row in rows)
        {
            table.AddRow(columns.Select(c => new Text(c.Cell(row))).ToArray<Spectre.Console.Rendering.IRenderable>());
            n++;
        }
        if (n == 0) console.MarkupLine("[grey](none)[/]");
        else console.Write(table);
    }

    /// <summary>A one-line result of an action (JSON: the response message).</summary>
    public void Done(IMessage response, string text)
    {
        if (format == OutputFormat.Json) console.Profile.Out.Writer.WriteLine(Json.Format(response));
        else console.WriteLine(text);
    }
}
