#!/usr/bin/env bash
# Debian's TeX Live with the publisher classes, for the generated LaTeX corpus (scripts/corpus).
# Installs only when pdflatex or one of the classes the generator uses is missing.
set -euo pipefail
CLASSES=(IEEEtran.cls acmart.cls elsarticle.cls llncs.cls revtex4-2.cls amsart.cls aastex631.cls
         mnras.cls authblk.sty epsf.sty oup-authoring-template.cls nature.cls jmlr.cls cas-dc.cls
         cas-sc.cls achemso.cls quantumarticle.cls smfart.cls IEEEconf.cls aiaa-tc.cls spie.cls
         kluwer.cls jacow.cls jpsj2.cls apa7.cls ascelike.cls ejpecp.cls cje.cls)
have_all() {
  command -v pdflatex >/dev/null && command -v kpsewhich >/dev/null || return 1
  local cls
  for cls in "${CLASSES[@]}"; do
    [ -n "$(kpsewhich "$cls")" ] || return 1
  done
}
have_all && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
PACKAGES=(texlive-publishers texlive-latex-extra texlive-science texlive-fonts-recommended
          texlive-plain-generic lmodern poppler-utils)
echo "Installing Debian's TeX Live (publisher classes) for the LaTeX corpus..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null \
  || { $sudo apt-get update -qq \
       && $sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
have_all
