"""Django's default storage with one place per municipality (settings.STORAGES["default"]).

Uploaded files (report photos, permit documents, issued documents, attachments) are named by the apps as before; the
storage puts them in the current municipality's folder (`municipality.media_root()`) or, in object storage, under its
key prefix (`municipality.own_folder()`), so one municipality's files never sit among another's and each
municipality's backup (portal/backup.py) takes exactly its own. The first municipality keeps MEDIA_ROOT itself, as a
deployment of one city always had. The S3 one is in common/storage_s3.py (imported only when configured: boto3)."""

import os

from django.core.files.storage import FileSystemStorage

from common import municipality


class MunicipalFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose location is the current municipality's media root, read at every call (a request or
    a job works for one municipality at a time; the storage object is shared by all)."""

    @property
    def base_location(self):
        return self._value_or_setting(self._location, str(municipality.media_root()))

    @property
    def location(self):
        return os.path.abspath(self.base_location)

