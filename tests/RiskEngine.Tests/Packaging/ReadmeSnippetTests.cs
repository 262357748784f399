using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RiskEngine.Tests.Packaging;

/// <summary>
/// Every <c>```csharp</c> block of README.md compiles, as written, in a new console project that references only the
/// packages the README tells a library user to reference (<c>RiskEngine</c> and <c>RiskEngine.Extensions</c>, as
/// project references) — what a user who copies it gets.
/// <para>
/// Convention: a block is a whole program (top-level statements, its own <c>using</c>s; at most one such block) unless
/// the line before its fence is a marker <c>&lt;!-- snippet: fragment(PARAMETERS) --&gt;</c>. A fragment continues
/// the program: its leading <c>using</c> lines stay at the top of its file, and the rest becomes the body of an
/// <c>async Task</c> method taking PARAMETERS (the variables it assumes, such as <c>IServiceProvider provider</c>).
/// Errors are reported at README.md's own lines (<c>#line</c>). A snippet that needs another package (Sqlite, Redis,
/// Pipeline) needs its project reference added to <see cref="Packages"/>.
/// </para>
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection(Dotnet.Collection)]
public sealed partial class ReadmeSnippetTests() : ScratchFolder("riskengine-readme-")
{
    /// <summary>The src projects the README's "Use it as a library" section tells a user to reference.</summary>
    private static readonly string[] Packages = ["RiskEngine", "RiskEngine.Extensions"];

    internal sealed record Snippet(int Line, string Code, string? FragmentParameters);

    [GeneratedRegex(@"^<!--\s*snippet:\s*fragment\((?<parameters>.*)\)\s*-->\s*$")]
    private static partial Regex FragmentMarker();

    /// <summary>The csharp blocks of a markdown text; <see cref="Snippet.Line"/> is the 1-based line of the block's first line of code.</summary>
    internal static List<Snippet> Extract(string markdown)
    {
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var snippets = new List<Snippet>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```csharp") continue;
            var start = i + 1;
            var end = start;
            while (end < lines.Length && lines[end].Trim() != "```") end++;
            Assert.True(end < lines.Length, $"README.md:{i + 1}: csharp block without its closing fence");
            var marker = i > 0 ? FragmentMarker().Match(lines[i - 1].Trim()) : Match.Empty;
            snippets.Add(new Snippet(start + 1, string.Join('\n', lines[start..end]), marker.Success ? marker.Groups["parameters"].Value : null));
            i = end;
        }
        return snippets;
    }

    /// <summary>The C# file for a snippet, with <c>#line</c> directives pointing back at the README.</summary>
    internal static string Source(Snippet s, int index, string readme)
    {
        string At(int line) => $"#line {line.ToString(CultureInfo.InvariantCulture)} \"{readme}\"\n";
        if (s.FragmentParameters is null) return At(s.Line) + s.Code + "\n";
        var lines = s.Code.Split('\n');
        var usings = lines.TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal) || l.Trim().Length == 0).Count();
        var source = new StringBuilder();
        source.Append(At(s.Line)).AppendJoin('\n', lines[..usings]).Append('\n');
        source.Append("#line hidden\n");
        source.Append(CultureInfo.InvariantCulture, $"internal static class ReadmeFragment{index}\n{{\n#pragma warning disable CS1998\n    internal static async Task Run({s.FragmentParameters})\n    {{\n");
        source.Append(At(s.Line + usings)).AppendJoin('\n', lines[usings..]).Append('\n');
        source.Append("#line default\n    }\n}\n");
        return source.ToString();
    }

    [Fact]
    public void Fragments_keep_their_usings_on_top_and_their_statements_in_a_method()
    {
        var snippets = Extract("text\n```csharp\nvar x = 1;\n```\n<!-- snippet: fragment(IServiceProvider provider) -->\n```csharp\nusing RiskEngine;\n\nvar y = provider;\n```\n```sh\nls\n```\n");
        Assert.Equal([new Snippet(3, "var x = 1;", null), new Snippet(7, "using RiskEngine;\n\nvar y = provider;", "IServiceProvider provider")], snippets);
        var fragment = Source(snippets[1], 1, "/r/README.md");
        Assert.StartsWith("#line 7 \"/r/README.md\"\nusing RiskEngine;\n", fragment, StringComparison.Ordinal);
        Assert.Contains("internal static async Task Run(IServiceProvider provider)", fragment, StringComparison.Ordinal);
        Assert.Contains("#line 9 \"/r/README.md\"\nvar y = provider;\n", fragment, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_csharp_block_of_the_README_compiles_against_the_packages_it_names()
    {
        var readme = Path.Combine(Dotnet.RepositoryRoot, "README.md");
        var snippets = Extract(await File.ReadAllTextAsync(readme));
        Assert.NotEmpty(snippets);
        var programs = snippets.Where(s => s.FragmentParameters is null).ToList();
        Assert.True(programs.Count <= 1, "more than one README block is a whole program (top-level statements); mark the others "
            + "<!-- snippet: fragment(...) -->: " + string.Join(", ", programs.Select(p => "README.md:" + p.Line.ToString(CultureInfo.InvariantCulture))));

        var project = P("ReadmeSnippets");
        Directory.CreateDirectory(project);
        var references = string.Join("\n", Packages.Select(p => $"""    <ProjectReference Include="{Path.Combine(Dotnet.RepositoryRoot, "src", p, p + ".csproj")}" />"""));
        // What `dotnet new console` gives a user, plus the references.
        await File.WriteAllTextAsync(Path.Combine(project, "ReadmeSnippets.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        for (var i = 0; i < snippets.Count; i++)
        {
            var name = snippets[i].FragmentParameters is null ? "Program.cs" : $"Fragment{i}.cs";
            await File.WriteAllTextAsync(Path.Combine(project, name), Source(snippets[i], i, readme));
        }
        if (programs.Count == 0) await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), "return;\n");

        // Built in a folder of its own (--artifacts-path), shared with the tool package test: the repository's bin/
        // and obj/ stay as they are, and the libraries are compiled once for both.
        var (code, output, error) = await Dotnet.RunAsync("dotnet",
            ["build", project, "-c", "Release", "--artifacts-path", Dotnet.ArtifactsPath, "-nodeReuse:false", "-clp:ErrorsOnly;NoSummary"], project);
        Assert.True(code == 0, $"README.md's C# does not compile (dotnet build exited {code}):\n{output}\n{error}");
    }
}
