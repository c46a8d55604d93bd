/*
 * anaf-token-launcher.exe: starts a console program with no console window and waits for it.
 *
 *   anaf-token-launcher.exe DATA-DIR PROGRAM [ARGS...]
 *
 * Sets ANAF_TOKEN_HOME=DATA-DIR, runs PROGRAM ARGS with CREATE_NO_WINDOW, waits, and exits
 * with its exit code (so the scheduled task sees a failure and restarts it). PROGRAM runs in a job
 * object that kills it when the launcher ends: ending the task (`schtasks /End`, uninstall) ends
 * only the task's own process, which would otherwise leave serve holding its port. A GUI-subsystem
 * program (-mwindows) so that starting it opens no console either. It replaces a VBScript
 * launcher: Windows is removing VBScript.
 *
 * Built on Linux with Debian's mingw-w64 (scripts/package/launcher.mjs).
 */
#define WIN32_LEAN_AND_MEAN
#ifndef UNICODE
#define UNICODE
#endif
#ifndef _UNICODE
#define _UNICODE
#endif
#include <windows.h>
#include <shellapi.h>
#include <stdlib.h>
#include <wchar.h>

/* Appends one argument quoted the way CommandLineToArgvW and the C runtime split it back. */
static size_t quote(wchar_t *out, const wchar_t *arg) {
  size_t n = 0;
  int plain = arg[0] != L'\0' && wcspbrk(arg, L" \t\n\v\"") == NULL;
  if (plain) {
    size_t len = wcslen(arg);
    if (out) wmemcpy(out, arg, len);
    return len;
  }
  if (out) out[n] = L'"';
  n++;
  for (const wchar_t *p = arg;; p++) {
    size_t slashes = 0;
    while (*p == L'\\') { p++; slashes++; }
    if (*p == L'\0') {
      /* Backslashes before the closing quote are doubled. */
      for (size_t i = 0; i < slashes * 2; i++) { if (out) out[n] = L'\\'; n++; }
      break;
    }
    if (*p == L'"') {
      for (size_t i = 0; i < slashes * 2 + 1; i++) { if (out) out[n] = L'\\'; n++; }
    } else {
      for (size_t i = 0; i < slashes; i++) { if (out) out[n] = L'\\'; n++; }
    }
    if (out) out[n] = *p;
    n++;
  }
  if (out) out[n] = L'"';
  n++;
  return n;
}

int WINAPI wWinMain(HINSTANCE instance, HINSTANCE previous, PWSTR commandLine, int show) {
  (void)instance; (void)previous; (void)commandLine; (void)show;
  int argc = 0;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  if (argv == NULL || argc < 3) return 2;
  if (!SetEnvironmentVariableW(L"ANAF_TOKEN_HOME", argv[1])) return 3;

  size_t size = 1;
  for (int i = 2; i < argc; i++) size += quote(NULL, argv[i]) + 1;
  wchar_t *line = calloc(size, sizeof(wchar_t));
  if (line == NULL) return 4;
  size_t n = 0;
  for (int i = 2; i < argc; i++) {
    if (i > 2) line[n++] = L' ';
    n += quote(line + n, argv[i]);
  }
  line[n] = L'\0';

  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  ZeroMemory(&pi, sizeof pi);
  /* The job's only handle is ours: when this process ends, however it ends, the job closes and
     Windows ends the program too. Without a job (refused by a policy) the program still runs. */
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (job) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    ZeroMemory(&limits, sizeof limits);
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
      CloseHandle(job);
      job = NULL;
    }
  }
  if (!CreateProcessW(argv[2], line, NULL, NULL, FALSE, CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED, NULL, NULL, &si, &pi)) return 5;
  if (job) AssignProcessToJobObject(job, pi.hProcess);
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 1;
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  return (int)code;
}
