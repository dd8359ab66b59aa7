# JobTrail API image. Build from the repository root: docker build -t jobtrail .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
# Build settings first (central package versions, analyzers, code style), then the sources.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
RUN dotnet publish src/JobTrail.Host/JobTrail.Host.csproj -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
# The non-root user the .NET images provide.
USER $APP_UID
ENTRYPOINT ["dotnet", "JobTrail.Host.dll"]
