// Icon and version information of anaf-token.exe (what Explorer's Properties and the Task
// Manager show), written with resedit (pure JavaScript) into the unsigned node.exe, before the
// blob is injected.
import fs from 'node:fs';
import * as ResEdit from 'resedit';

const LANG_EN_US = 1033;
const CODEPAGE_UNICODE = 1200;

export function setWindowsResources(exeFile, { icon, version, description, productName, originalFilename }) {
  const exe = ResEdit.NtExecutable.from(fs.readFileSync(exeFile), { ignoreCert: true });
  const res = ResEdit.NtExecutableResource.from(exe);

  const iconFile = ResEdit.Data.IconFile.from(icon);
  // node.exe's own icon group is 1: replaced, so Explorer shows ours.
  ResEdit.Resource.IconGroupEntry.replaceIconsForResource(
    res.entries,
    1,
    LANG_EN_US,
    iconFile.icons.map((i) => i.data),
  );

  const [vi] = ResEdit.Resource.VersionInfo.fromEntries(res.entries);
  if (!vi) throw new Error(`${exeFile} has no version information to replace`);
  const lang = { lang: LANG_EN_US, codepage: CODEPAGE_UNICODE };
  const [major, minor, patch] = version.split('.').map(Number);
  for (const l of vi.getAllLanguagesForStringValues()) vi.removeAllStringValues(l);
  // The numeric versions first: resedit also writes them as four-part strings, which ours replace.
  vi.setFileVersion(major, minor, patch, 0, LANG_EN_US);
  vi.setProductVersion(major, minor, patch, 0, LANG_EN_US);
  vi.setStringValues(lang, {
    FileDescription: description,
    ProductName: productName,
    CompanyName: 'anaf-token',
    LegalCopyright: 'MIT License; Node.js © OpenJS Foundation and contributors',
    OriginalFilename: originalFilename,
    InternalName: originalFilename.replace(/\.exe$/, ''),
    FileVersion: version,
    ProductVersion: version,
  });
  vi.outputToResourceEntries(res.entries);
  res.outputResource(exe);
  fs.writeFileSync(exeFile, Buffer.from(exe.generate()));
}
