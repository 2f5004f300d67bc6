PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO journal VALUES(1,'2026-12-02T10:43:02.179+08:00','root','vault.init',NULL,'{"bureau":"测试局","catalog_version":3,"clock_skew_seconds":300,"created_at":"2026-12-02T10:43:02.171+08:00","devices":{},"format":"zfjl-vault","id":"9153ea3a-7ea4-4617-8252-4b8d37c8e4fd","metadata_clock":"local","name_patterns":[],"retention":{},"roles":{"root":["admin"]},"timezone":"Asia/Shanghai","upload_deadline_working_days":2,"version":2}','0000000000000000000000000000000000000000000000000000000000000000','2c6b7dc0cb34fc4978ea208b7875de63965cf1259a40fa3b6b51d7602be9f42e');
INSERT INTO journal VALUES(2,'2026-12-02T10:43:02.186+08:00','root','checkpoint.key',NULL,'{"name":"zfjl/9153ea3a-7ea4-4617-8252-4b8d37c8e4fd","vkey":"zfjl/9153ea3a-7ea4-4617-8252-4b8d37c8e4fd+62695b19+ASw3LWIGXMxQE/Zr1hhPlVQxlu/4E9F/taErmtsng8ab"}','2c6b7dc0cb34fc4978ea208b7875de63965cf1259a40fa3b6b51d7602be9f42e','b6ba9782d479d6b628e91c10fc4d8671e79768f983e1e95361fb14671fd56895');
INSERT INTO journal VALUES(3,'2026-12-02T10:43:02.654+08:00','root','ingest.begin','run:c5c691bd1058','{"bytes":20493,"files":3,"host":"vm","options":{"clear_source":false,"device":null,"officer":null},"run":"c5c691bd1058","source":"/tmp/legacy3/mini"}','b6ba9782d479d6b628e91c10fc4d8671e79768f983e1e95361fb14671fd56895','ce513054b7ae5d98579a35c9e78a438da67be88e04823264f2f65b055c1b26c2');
INSERT INTO journal VALUES(4,'2026-12-02T10:43:02.794+08:00','root','object.add','087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd','{"object":{"id":"087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd","sha256":"88324287a81a6018c0285174d7308e924b78b3ca8a13af3b474dd173e4fd9a11","size":34},"recording":{"clock_skew":false,"device":null,"duration":null,"file_type":"TXT","gps_lat":null,"gps_lon":null,"important":false,"kind":"other","late":false,"late_deadline":"2026-12-04","late_note":null,"make":null,"meta_time":null,"metadata":{"File:FileSize":34,"File:FileType":"TXT","File:FileTypeExtension":"TXT","File:LineCount":3,"File:MIMEEncoding":"us-ascii","File:MIMEType":"text/plain","File:Newlines":"\n","File:WordCount":3},"mime":"text/plain","model":null,"mtime":"2026-12-02T10:43:01+08:00","name_time":null,"officer":null,"original_name":"DEVICE.INI","recorded_at":"2026-12-02T10:43:01+08:00","run":"c5c691bd1058","serial":null,"skew_seconds":0.0,"time_source":"mtime","warnings":[]},"run":"c5c691bd1058"}','ce513054b7ae5d98579a35c9e78a438da67be88e04823264f2f65b055c1b26c2','e46f51b9e2c2a129ddbc50bd55f030288cde07894947cbcc8f3d9bf69d815490');
INSERT INTO journal VALUES(5,'2026-12-02T10:43:02.795+08:00','root','object.seen','087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd','{"device":null,"id":"087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd","important":false,"mtime":"2026-12-02T10:43:01+08:00","name_hex":null,"officer":null,"original_name":"DEVICE.INI","run":"c5c691bd1058","size":34,"source_path":"DEVICE.INI"}','e46f51b9e2c2a129ddbc50bd55f030288cde07894947cbcc8f3d9bf69d815490','36225d052fccce77612b85b9822566396bd3daf7f1c17d0aee3bcebb78e624b0');
INSERT INTO journal VALUES(6,'2026-12-02T10:43:02.798+08:00','root','object.add','602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035','{"object":{"id":"602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035","sha256":"0588e08d77c596d883ff861c2932f810e47befe898f0df70551345910e9ce35d","size":3206},"recording":{"clock_skew":true,"device":"DSJ01","duration":2.0,"file_type":"AMR","gps_lat":null,"gps_lon":null,"important":false,"kind":"audio","late":false,"late_deadline":"2026-12-04","late_note":null,"make":null,"meta_time":null,"metadata":{"ExifTool:Error":"Unknown file type","File:FileSize":3206,"zfjl:AMR":{"codec":"amr_nb","damaged":false,"duration":2.0,"frames":100}},"mime":null,"model":null,"mtime":"2026-12-02T10:43:01+08:00","name_time":"2026-12-02T08:03:00+08:00","officer":null,"original_name":"DSJ01_20261202_080300_0004.AMR","recorded_at":"2026-12-02T08:03:00+08:00","run":"c5c691bd1058","serial":null,"skew_seconds":9599.787,"time_source":"name","warnings":[{"code":"clock_skew","message":"时钟偏差 9600 秒（录制时间与文件修改时间），超过 300 秒：记录仪时钟可能不准"}]},"run":"c5c691bd1058"}','36225d052fccce77612b85b9822566396bd3daf7f1c17d0aee3bcebb78e624b0','6aeca0b90a2983968d0c9dc4316a82bb96bc3e4d4707e5e3ab42138ce31e84b6');
INSERT INTO journal VALUES(7,'2026-12-02T10:43:02.799+08:00','root','object.seen','602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035','{"device":"DSJ01","id":"602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035","important":false,"mtime":"2026-12-02T10:43:01+08:00","name_hex":null,"officer":null,"original_name":"DSJ01_20261202_080300_0004.AMR","run":"c5c691bd1058","size":3206,"source_path":"DSJ01_20261202_080300_0004.AMR"}','6aeca0b90a2983968d0c9dc4316a82bb96bc3e4d4707e5e3ab42138ce31e84b6','463230058b9fd0725894a5fa0dc5ee68dd0eb1e95a5b2adcbf1a48b2d92b1a17');
INSERT INTO journal VALUES(8,'2026-12-02T10:43:02.799+08:00','root','object.add','e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c','{"object":{"id":"e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c","sha256":"e10225cf0e54fad741246ff85f2817bf74a8c94059496d5ff097573169e6f458","size":17253},"recording":{"clock_skew":true,"device":"DSJ03","duration":null,"file_type":"JPEG","gps_lat":27.8274,"gps_lon":113.134,"important":true,"kind":"photo","late":false,"late_deadline":"2026-12-04","late_note":null,"make":"ZFJL-SAMPLE","meta_time":"2026-12-02T07:53:00+08:00","metadata":{"Composite:GPSLatitude":27.8274,"Composite:GPSLongitude":113.134,"Composite:GPSPosition":"27.8274 113.134","Composite:ImageSize":"640 480","Composite:Megapixels":0.3072,"EXIF:ColorSpace":65535,"EXIF:ComponentsConfiguration":"1 2 3 0","EXIF:DateTimeOriginal":"2026:12:02 07:53:00","EXIF:ExifVersion":"0232","EXIF:FlashpixVersion":"0100","EXIF:GPSLatitude":27.8274,"EXIF:GPSLatitudeRef":"N","EXIF:GPSLongitude":113.134,"EXIF:GPSLongitudeRef":"E","EXIF:GPSVersionID":"2 3 0 0","EXIF:Make":"ZFJL-SAMPLE","EXIF:Model":"DSJ-V9","EXIF:ResolutionUnit":1,"EXIF:SerialNumber":"SN0003","EXIF:XResolution":1,"EXIF:YCbCrPositioning":1,"EXIF:YResolution":1,"File:BitsPerSample":8,"File:ColorComponents":3,"File:Comment":"Lavc59.37.100","File:EncodingProcess":0,"File:ExifByteOrder":"MM","File:FileSize":17253,"File:FileType":"JPEG","File:FileTypeExtension":"JPG","File:ImageHeight":480,"File:ImageWidth":640,"File:MIMEType":"image/jpeg","File:YCbCrSubSampling":"1 1","JFIF:JFIFVersion":"1 2","JFIF:ResolutionUnit":0,"JFIF:XResolution":1,"JFIF:YResolution":1},"mime":"image/jpeg","model":"DSJ-V9","mtime":"2026-12-02T10:43:01+08:00","name_time":"2026-12-02T07:53:00+08:00","officer":"012345","original_name":"DSJ_DSJ03_012345_20261202_075300_IMP.JPG","recorded_at":"2026-12-02T07:53:00+08:00","run":"c5c691bd1058","serial":"SN0003","skew_seconds":10201.795,"time_source":"name","warnings":[{"code":"clock_skew","message":"时钟偏差 10202 秒（录制时间与文件修改时间），超过 300 秒：记录仪时钟可能不准"}]},"run":"c5c691bd1058"}','463230058b9fd0725894a5fa0dc5ee68dd0eb1e95a5b2adcbf1a48b2d92b1a17','27ccfce1e755deb0341ba3c5db603712b6999a805f77636a5a29e393e8c351c2');
INSERT INTO journal VALUES(9,'2026-12-02T10:43:02.799+08:00','root','object.seen','e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c','{"device":"DSJ03","id":"e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c","important":true,"mtime":"2026-12-02T10:43:01+08:00","name_hex":null,"officer":"012345","original_name":"DSJ_DSJ03_012345_20261202_075300_IMP.JPG","run":"c5c691bd1058","size":17253,"source_path":"DSJ_DSJ03_012345_20261202_075300_IMP.JPG"}','27ccfce1e755deb0341ba3c5db603712b6999a805f77636a5a29e393e8c351c2','740af7449f3f67d7318988cbb5b8d213eaeb42b4e35dd767da1230023dd38a88');
INSERT INTO journal VALUES(10,'2026-12-02T10:43:02.801+08:00','root','device.unregistered','device:DSJ01','{"device":"DSJ01","run":"c5c691bd1058"}','740af7449f3f67d7318988cbb5b8d213eaeb42b4e35dd767da1230023dd38a88','e367b80d1e385ad34001dbe48eda34e30eab82d9ceb77437ba4e1f88dc0007c8');
INSERT INTO journal VALUES(11,'2026-12-02T10:43:02.801+08:00','root','device.unregistered','device:DSJ03','{"device":"DSJ03","run":"c5c691bd1058"}','e367b80d1e385ad34001dbe48eda34e30eab82d9ceb77437ba4e1f88dc0007c8','6d591b1e5310155105d7a5fdac17d2f9dd1a171bda2d62cdd2bdf7931575e75d');
INSERT INTO journal VALUES(12,'2026-12-02T10:43:02.802+08:00','root','ingest.end','run:c5c691bd1058','{"run":"c5c691bd1058","status":"completed","summary":{"already_stored":0,"bytes":20493,"bytes_copied":20493,"cleared":0,"clock_skew":2,"device_fault":0,"failed":0,"files":3,"late":0,"late_unknown":0,"mb_per_s":0.1,"new":3,"probed":3,"seconds":0.148,"skipped":0,"stage_seconds":{"catalog":0.013,"clear":0.0,"probe":0.122,"sync":0.004},"unregistered_devices":["DSJ01","DSJ03"],"warnings":2}}','6d591b1e5310155105d7a5fdac17d2f9dd1a171bda2d62cdd2bdf7931575e75d','025b7d7d02ef42995f4f720e678880ed5d59cbbe777f3e846a491eab6e4a6064');
CREATE TABLE objects (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
INSERT INTO objects VALUES('087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd','88324287a81a6018c0285174d7308e924b78b3ca8a13af3b474dd173e4fd9a11',34,'2026-12-02T10:43:02.794+08:00',4);
INSERT INTO objects VALUES('602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035','0588e08d77c596d883ff861c2932f810e47befe898f0df70551345910e9ce35d',3206,'2026-12-02T10:43:02.798+08:00',6);
INSERT INTO objects VALUES('e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c','e10225cf0e54fad741246ff85f2817bf74a8c94059496d5ff097573169e6f458',17253,'2026-12-02T10:43:02.799+08:00',8);
CREATE TABLE recordings (
    id TEXT PRIMARY KEY REFERENCES objects(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    mime TEXT,
    file_type TEXT,
    device TEXT,
    officer TEXT,
    recorded_at TEXT,
    time_source TEXT,
    duration REAL,
    original_name TEXT,
    ingested_at TEXT NOT NULL,
    late INTEGER,
    late_deadline TEXT,
    late_note TEXT,
    important INTEGER NOT NULL DEFAULT 0,
    make TEXT,
    model TEXT,
    serial TEXT,
    gps_lat REAL,
    gps_lon REAL,
    name_time TEXT,
    meta_time TEXT,
    mtime TEXT,
    clock_skew INTEGER NOT NULL DEFAULT 0,
    skew_seconds REAL,
    warnings TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    run TEXT
);
INSERT INTO recordings VALUES('087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd','88324287a81a6018c0285174d7308e924b78b3ca8a13af3b474dd173e4fd9a11',34,'other','text/plain','TXT',NULL,NULL,'2026-12-02T10:43:01+08:00','mtime',NULL,'DEVICE.INI','2026-12-02T10:43:02.794+08:00',0,'2026-12-04',NULL,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'2026-12-02T10:43:01+08:00',0,0.0,'[]','{"File:FileSize": 34, "File:FileType": "TXT", "File:FileTypeExtension": "TXT", "File:LineCount": 3, "File:MIMEEncoding": "us-ascii", "File:MIMEType": "text/plain", "File:Newlines": "\n", "File:WordCount": 3}','c5c691bd1058');
INSERT INTO recordings VALUES('602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035','0588e08d77c596d883ff861c2932f810e47befe898f0df70551345910e9ce35d',3206,'audio',NULL,'AMR','DSJ01',NULL,'2026-12-02T08:03:00+08:00','name',2.0,'DSJ01_20261202_080300_0004.AMR','2026-12-02T10:43:02.798+08:00',0,'2026-12-04',NULL,0,NULL,NULL,NULL,NULL,NULL,'2026-12-02T08:03:00+08:00',NULL,'2026-12-02T10:43:01+08:00',1,9599.7870000000002617,'[{"code": "clock_skew", "message": "时钟偏差 9600 秒（录制时间与文件修改时间），超过 300 秒：记录仪时钟可能不准"}]','{"ExifTool:Error": "Unknown file type", "File:FileSize": 3206, "zfjl:AMR": {"codec": "amr_nb", "damaged": false, "duration": 2.0, "frames": 100}}','c5c691bd1058');
INSERT INTO recordings VALUES('e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c','e10225cf0e54fad741246ff85f2817bf74a8c94059496d5ff097573169e6f458',17253,'photo','image/jpeg','JPEG','DSJ03','012345','2026-12-02T07:53:00+08:00','name',NULL,'DSJ_DSJ03_012345_20261202_075300_IMP.JPG','2026-12-02T10:43:02.799+08:00',0,'2026-12-04',NULL,1,'ZFJL-SAMPLE','DSJ-V9','SN0003',27.827400000000000802,113.13400000000000034,'2026-12-02T07:53:00+08:00','2026-12-02T07:53:00+08:00','2026-12-02T10:43:01+08:00',1,10201.795000000000073,'[{"code": "clock_skew", "message": "时钟偏差 10202 秒（录制时间与文件修改时间），超过 300 秒：记录仪时钟可能不准"}]','{"Composite:GPSLatitude": 27.8274, "Composite:GPSLongitude": 113.134, "Composite:GPSPosition": "27.8274 113.134", "Composite:ImageSize": "640 480", "Composite:Megapixels": 0.3072, "EXIF:ColorSpace": 65535, "EXIF:ComponentsConfiguration": "1 2 3 0", "EXIF:DateTimeOriginal": "2026:12:02 07:53:00", "EXIF:ExifVersion": "0232", "EXIF:FlashpixVersion": "0100", "EXIF:GPSLatitude": 27.8274, "EXIF:GPSLatitudeRef": "N", "EXIF:GPSLongitude": 113.134, "EXIF:GPSLongitudeRef": "E", "EXIF:GPSVersionID": "2 3 0 0", "EXIF:Make": "ZFJL-SAMPLE", "EXIF:Model": "DSJ-V9", "EXIF:ResolutionUnit": 1, "EXIF:SerialNumber": "SN0003", "EXIF:XResolution": 1, "EXIF:YCbCrPositioning": 1, "EXIF:YResolution": 1, "File:BitsPerSample": 8, "File:ColorComponents": 3, "File:Comment": "Lavc59.37.100", "File:EncodingProcess": 0, "File:ExifByteOrder": "MM", "File:FileSize": 17253, "File:FileType": "JPEG", "File:FileTypeExtension": "JPG", "File:ImageHeight": 480, "File:ImageWidth": 640, "File:MIMEType": "image/jpeg", "File:YCbCrSubSampling": "1 1", "JFIF:JFIFVersion": "1 2", "JFIF:ResolutionUnit": 0, "JFIF:XResolution": 1, "JFIF:YResolution": 1}','c5c691bd1058');
CREATE TABLE sightings (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL,
    run TEXT,
    seen_at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    original_name TEXT NOT NULL,
    name_hex TEXT,
    size INTEGER NOT NULL,
    mtime TEXT,
    device TEXT,
    officer TEXT,
    important INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sightings VALUES(5,'087eede93c512cf835c9c0aa82e49d7550f964cddbb634d0e517ddc272917fbd','c5c691bd1058','2026-12-02T10:43:02.795+08:00','DEVICE.INI','DEVICE.INI',NULL,34,'2026-12-02T10:43:01+08:00',NULL,NULL,0);
INSERT INTO sightings VALUES(7,'602fa497be71bf80d1e63ccebea6b8ba54eb9c1c21cac5c87c43688e7e290035','c5c691bd1058','2026-12-02T10:43:02.799+08:00','DSJ01_20261202_080300_0004.AMR','DSJ01_20261202_080300_0004.AMR',NULL,3206,'2026-12-02T10:43:01+08:00','DSJ01',NULL,0);
INSERT INTO sightings VALUES(9,'e1eb7e89a7fbc88f5fd9e3fef8ed2c9cb63b49f8dda129a876153ca276d50a4c','c5c691bd1058','2026-12-02T10:43:02.799+08:00','DSJ_DSJ03_012345_20261202_075300_IMP.JPG','DSJ_DSJ03_012345_20261202_075300_IMP.JPG',NULL,17253,'2026-12-02T10:43:01+08:00','DSJ03','012345',1);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    host TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    ended_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    summary TEXT
);
INSERT INTO runs VALUES('c5c691bd1058','2026-12-02T10:43:02.654+08:00','/tmp/legacy3/mini','root','vm','{"clear_source": false, "device": null, "officer": null}','2026-12-02T10:43:02.802+08:00','completed','{"already_stored": 0, "bytes": 20493, "bytes_copied": 20493, "cleared": 0, "clock_skew": 2, "device_fault": 0, "failed": 0, "files": 3, "late": 0, "late_unknown": 0, "mb_per_s": 0.1, "new": 3, "probed": 3, "seconds": 0.148, "skipped": 0, "stage_seconds": {"catalog": 0.013, "clear": 0.0, "probe": 0.122, "sync": 0.004}, "unregistered_devices": ["DSJ01", "DSJ03"], "warnings": 2}');
CREATE TABLE failures (
    seq INTEGER PRIMARY KEY,
    run TEXT,
    at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE cleared_sources (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL,
    source_path TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    notice TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    procedure TEXT NOT NULL,
    cause TEXT NOT NULL,
    party TEXT NOT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    data TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE case_media (
    case_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    activity TEXT NOT NULL,
    document TEXT,
    PRIMARY KEY (case_id, recording_id, activity, document)
);
CREATE TABLE object_digests (
    id TEXT PRIMARY KEY,
    sha512 TEXT NOT NULL,
    sm3 TEXT NOT NULL
);
CREATE TABLE calendar_days (
    date TEXT PRIMARY KEY,
    workday INTEGER NOT NULL,
    name TEXT
);
CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT,
    placed_at TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT,
    release_approval TEXT,
    seq INTEGER NOT NULL
);
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approval_no TEXT NOT NULL,
    until TEXT NOT NULL,
    purpose TEXT,
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    revoke_reason TEXT,
    seq INTEGER NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    model TEXT,
    serial TEXT,
    unit TEXT,
    status TEXT NOT NULL,
    registered INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    note TEXT,
    seq INTEGER NOT NULL
);
INSERT INTO devices VALUES('DSJ01',NULL,NULL,NULL,'unregistered',0,'2026-12-02T10:43:02.801+08:00',NULL,10);
INSERT INTO devices VALUES('DSJ03',NULL,NULL,NULL,'unregistered',0,'2026-12-02T10:43:02.801+08:00',NULL,11);
CREATE TABLE device_assignments (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    officer TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT
);
CREATE TABLE device_log (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    note TEXT,
    actor TEXT NOT NULL
);
CREATE TABLE spotcheck_items (
    draw TEXT NOT NULL,
    item TEXT NOT NULL,
    item_kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    period TEXT NOT NULL,
    drawn_at TEXT NOT NULL,
    result TEXT,
    failed TEXT,
    note TEXT,
    checker TEXT,
    checked_at TEXT,
    PRIMARY KEY (draw, item)
);
CREATE TABLE roles (
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    since TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    approval_no TEXT,
    via TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (user, role)
);
INSERT INTO roles VALUES('root','admin','2026-12-02T10:43:02.179+08:00','root',NULL,'zfjl init',1);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    approval_no TEXT,
    seq INTEGER NOT NULL
);
INSERT INTO settings VALUES('bureau','"测试局"','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('timezone','"Asia/Shanghai"','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('metadata_clock','"local"','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('clock_skew_seconds','300','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('upload_deadline_working_days','2','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('name_patterns','[]','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('devices','{}','2026-12-02T10:43:02.179+08:00','root',NULL,1);
INSERT INTO settings VALUES('retention','{}','2026-12-02T10:43:02.179+08:00','root',NULL,1);
CREATE TABLE tombstones (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    sweep TEXT NOT NULL,
    class TEXT NOT NULL,
    approval TEXT NOT NULL,
    size INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX journal_subject ON journal(subject);
CREATE INDEX journal_kind ON journal(kind);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: DELETE refused'); END;
CREATE TRIGGER journal_in_sequence BEFORE INSERT ON journal
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal)
BEGIN SELECT RAISE(ABORT, 'journal rows are appended in sequence only'); END;
CREATE INDEX objects_size ON objects(size);
CREATE INDEX recordings_device_time ON recordings(device, recorded_at);
CREATE INDEX recordings_officer_time ON recordings(officer, recorded_at);
CREATE INDEX recordings_time ON recordings(recorded_at);
CREATE INDEX sightings_object ON sightings(object_id);
CREATE INDEX case_media_recording ON case_media(recording_id);
CREATE INDEX holds_target ON holds(target);
CREATE INDEX grants_user ON grants(user, target);
CREATE INDEX device_assignments_device ON device_assignments(device, since);
CREATE INDEX device_log_device ON device_log(device, at);
COMMIT;
